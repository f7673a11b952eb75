"""A council's own host names (e.g. payments.northbrook.gov.uk, since GOV.UK Pay only calls
back to .gov.uk addresses): added by its admins, proved by a DNS TXT record or confirmed by an
operator, and one chosen as primary. A name answers only once verified."""

import secrets

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context

from tenants.audit.recording import record_audit_in
from tenants.capabilities import (
    Capability,
    require_council_capability,
    require_platform_capability,
)
from tenants.council_directory import council_directory
from tenants.domain_names import (
    published_txt_values,
    txt_record_name,
    txt_record_value,
    validate_hostname,
)
from tenants.models import Council, Domain, User
from tenants.models.council import DomainVerification


def add_domain(*, council: Council, hostname: str, acting_user: User) -> Domain:
    """Add an unverified host name; the page then shows the TXT record to publish."""
    require_council_capability(acting_user, council, Capability.MANAGE_DOMAINS)
    hostname = validate_hostname(hostname)
    taken = ValidationError(f"{hostname} is already in use on Counterfoil.", code="hostname_taken")
    # An unverified claim elsewhere reserves nothing: whoever proves the name holds it.
    if Domain.objects.filter(domain=hostname, verified_at__isnull=False).exists():
        raise taken
    if Domain.objects.filter(domain=hostname, tenant=council).exists():
        raise ValidationError(
            f"{hostname} is already one of this council's host names.", code="hostname_added"
        )
    try:
        with schema_context(get_public_schema_name()), transaction.atomic():
            domain = Domain.objects.create(
                domain=hostname,
                tenant=council,
                is_primary=False,
                verification_token=secrets.token_hex(16),
            )
            record_audit_in(
                council.schema_name,
                "domain.added",
                acting_user=acting_user,
                target=domain,
                after={"domain": hostname},
            )
    except IntegrityError as clash:  # the same name added elsewhere at the same moment
        raise taken from clash
    return domain


def verify_domain_by_dns(*, domain: Domain, acting_user: User) -> Domain:
    """Look for the TXT record; if it carries this host name's token, the name is verified."""
    council = domain.tenant
    require_council_capability(acting_user, council, Capability.MANAGE_DOMAINS)
    if domain.verified_at is not None:
        return domain
    expected = txt_record_value(domain.verification_token)
    found = published_txt_values(domain.domain)
    if expected not in found:
        raise ValidationError(
            f"We could not find a TXT record at {txt_record_name(domain.domain)} with the value "
            f"{expected}. DNS changes can take a while to be seen: try again later.",
            code="txt_not_found",
        )
    return _mark_verified(domain, DomainVerification.DNS, acting_user)


def confirm_domain_by_operator(*, domain: Domain, reason: str, acting_user: User) -> Domain:
    """An operator vouches for the host name (e.g. after checking with the council by phone)."""
    require_platform_capability(acting_user, Capability.MANAGE_COUNCILS)
    if not reason.strip():
        raise ValidationError("Enter how you confirmed the council controls this host name.")
    if domain.verified_at is not None:
        return domain
    record_audit_in(
        get_public_schema_name(),
        "domain.confirmed_by_operator",
        acting_user=acting_user,
        target=domain,
        after={"domain": domain.domain, "council": domain.tenant.name},
        reason=reason.strip(),
    )
    return _mark_verified(domain, DomainVerification.OPERATOR, acting_user)


def make_primary(*, domain: Domain, acting_user: User) -> Domain:
    """The council switcher and citizens' links use the primary host name (account emails and
    sign-in stay on the council's host on the platform: tenants.sign_in_hosts)."""
    council = domain.tenant
    require_council_capability(acting_user, council, Capability.MANAGE_DOMAINS)
    if domain.verified_at is None:
        raise ValidationError("Verify the host name before making it the primary one.")
    with schema_context(get_public_schema_name()), transaction.atomic():
        before = Domain.objects.filter(tenant=council, is_primary=True).first()
        Domain.objects.filter(tenant=council).exclude(pk=domain.pk).update(is_primary=False)
        Domain.objects.filter(pk=domain.pk).update(is_primary=True)
        record_audit_in(
            council.schema_name,
            "domain.made_primary",
            acting_user=acting_user,
            target=domain,
            before={"primary": before.domain if before else None},
            after={"primary": domain.domain},
        )
    council_directory.forget()
    domain.refresh_from_db()
    return domain


def remove_domain(*, domain: Domain, acting_user: User) -> None:
    """Remove one of the council's own host names (never the primary, never the platform's)."""
    council = domain.tenant
    require_council_capability(acting_user, council, Capability.MANAGE_DOMAINS)
    domain = Domain.objects.get(pk=domain.pk)  # as it is now, not as the caller last saw it
    if domain.is_primary:
        raise ValidationError("Make another host name primary before removing this one.")
    if domain.verification_method == DomainVerification.PLATFORM:
        raise ValidationError("The council's address on the platform cannot be removed.")
    with schema_context(get_public_schema_name()), transaction.atomic():
        record_audit_in(
            council.schema_name,
            "domain.removed",
            acting_user=acting_user,
            target=domain,
            before={"domain": domain.domain},
        )
        Domain.objects.filter(pk=domain.pk).delete()
    council_directory.forget()


def _mark_verified(domain: Domain, method: DomainVerification, acting_user: User) -> Domain:
    try:
        with schema_context(get_public_schema_name()), transaction.atomic():
            Domain.objects.filter(pk=domain.pk, verified_at=None).update(
                verified_at=timezone.now(), verification_method=method
            )
            domain.refresh_from_db()
            record_audit_in(
                domain.tenant.schema_name,
                "domain.verified",
                acting_user=acting_user,
                target=domain,
                after={"domain": domain.domain, "method": method},
            )
    except IntegrityError as clash:  # a verified name is unique: another council proved it
        raise ValidationError(
            f"{domain.domain} is already verified for another council on Counterfoil.",
            code="hostname_taken",
        ) from clash
    council_directory.forget()
    return domain
