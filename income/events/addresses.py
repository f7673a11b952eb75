"""Which addresses an endpoint may have: https, and (in production) a host that resolves only
to public addresses, so that an endpoint cannot make the worker reach into the platform's own
network (server-side request forgery). Checked when the endpoint is saved and again before
each send (a name can be pointed elsewhere after it was checked)."""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError


def insecure_endpoints_allowed() -> bool:
    return bool(settings.DEMO_INSECURE_ENDPOINTS or settings.DEBUG)


def check_endpoint_url(url: str) -> str:
    """The URL, tidied, or a ValidationError saying what is wrong with it."""
    url = url.strip()
    parts = urlsplit(url)
    relaxed = insecure_endpoints_allowed()
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValidationError("Enter the endpoint's full address, starting https://")
    if parts.scheme != "https" and not relaxed:
        raise ValidationError("The endpoint's address must start https:// (not http://).")
    if parts.username or parts.password:
        raise ValidationError("Leave the user name and password out of the endpoint's address.")
    if not relaxed:
        refuse_private_host(parts.hostname, parts.port or 443)
    return url


def refuse_private_host(host: str, port: int) -> None:
    try:
        found = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise ValidationError(f"{host} could not be found (DNS).") from None
    for *_, sockaddr in found:
        address = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if not address.is_global or address.is_multicast:
            raise ValidationError(
                f"{host} resolves to {address}, a private, loopback or link-local address: "
                "endpoints must be reachable on the internet."
            )
