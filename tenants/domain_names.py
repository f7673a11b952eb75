"""Host names a council may add, and checking their DNS TXT proof.

A council proves it controls a host name by publishing a TXT record at
`_counterfoil.<host name>` whose text is `counterfoil-verification=<token>`. The resolver
asked is configurable (DNS_RESOLVERS, DNS_RESOLVER_PORT), so the tests can ask a stand-in.
"""

import re

import dns.exception
import dns.resolver
from django.conf import settings
from django.core.exceptions import ValidationError

LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
TXT_PREFIX = "_counterfoil"
TXT_VALUE_PREFIX = "counterfoil-verification="


def validate_hostname(hostname: str) -> str:
    """The host name, normalised, if it is one a council may add; else ValidationError."""
    candidate = hostname.strip().rstrip(".")
    if not candidate.isascii():
        raise ValidationError(
            "Enter the host name in plain letters a to z, digits, hyphens and dots. For an "
            "internationalised name, enter its xn-- form.",
            code="invalid_hostname",
        )
    candidate = candidate.lower()
    labels = candidate.split(".")
    if len(candidate) > 253 or len(labels) < 2 or not all(LABEL.fullmatch(x) for x in labels):
        raise ValidationError(
            "Enter a full host name like payments.northbrook.gov.uk", code="invalid_hostname"
        )
    if labels[-1].isdigit():
        raise ValidationError(
            "Enter a host name, not an IP address, like payments.northbrook.gov.uk",
            code="invalid_hostname",
        )
    platform = settings.PLATFORM_DOMAIN
    if candidate == platform or candidate.endswith(f".{platform}"):
        raise ValidationError(
            f"Host names under {platform} are the platform's own: add your council's own name.",
            code="platform_hostname",
        )
    return candidate


def txt_record_name(hostname: str) -> str:
    return f"{TXT_PREFIX}.{hostname}"


def txt_record_value(token: str) -> str:
    return f"{TXT_VALUE_PREFIX}{token}"


def published_txt_values(hostname: str) -> list[str]:
    """The TXT strings published at the host name's proof record ([] if none or no answer)."""
    resolver = dns.resolver.Resolver(configure=not settings.DNS_RESOLVERS)
    if settings.DNS_RESOLVERS:
        resolver.nameservers = list(settings.DNS_RESOLVERS)
    resolver.port = settings.DNS_RESOLVER_PORT
    resolver.lifetime = settings.DNS_TIMEOUT_SECONDS
    try:
        answer = resolver.resolve(txt_record_name(hostname), "TXT", raise_on_no_answer=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoNameservers, dns.exception.Timeout):
        return []
    values = []
    for record in answer.rrset or []:
        values.append(b"".join(record.strings).decode("ascii", errors="replace"))
    return values
