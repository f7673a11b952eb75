"""Creating councils. The full onboarding journey (apply, approve, invite) builds on this."""

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tenants.utils import get_public_schema_name, schema_context

from tenants.council_directory import council_directory
from tenants.models import Council, CouncilStatus, Domain, User
from tenants.models.council import DomainVerification
from tenants.provisioning import provision_schema
from tenants.schema_names import schema_name_for_slug


def council_host(slug: str) -> str:
    return f"{slug}.{settings.PLATFORM_DOMAIN}"


def create_council(
    *,
    name: str,
    slug: str,
    acting_user: User | None,
    status: CouncilStatus = CouncilStatus.ACTIVE,
) -> Council:
    """Create (or finish creating) a council with its schema and its platform host name.

    Idempotent: called again with the same slug it completes whatever a crash left undone and
    returns the same council. `acting_user` is None only for the platform itself (the demo).
    """
    schema_name = schema_name_for_slug(slug)
    with schema_context(get_public_schema_name()), transaction.atomic():
        council, _ = Council.objects.get_or_create(
            slug=slug, defaults={"name": name, "schema_name": schema_name, "status": status}
        )
        Domain.objects.get_or_create(
            domain=council_host(slug),
            defaults={
                "tenant": council,
                "is_primary": True,
                "verified_at": timezone.now(),
                "verification_method": DomainVerification.PLATFORM,
            },
        )
    provision_schema(council)
    seed_council_defaults(council)
    council_directory.forget()
    return council


def seed_council_defaults(council: Council) -> None:
    """Run each of settings.COUNCIL_SEEDERS in the council's schema (idempotent seeders).

    The seeders belong to the apps above this one (income's VAT codes, channels and system
    accounts); settings, the wiring layer, names them so that tenants never imports income.
    """
    with schema_context(council.schema_name), transaction.atomic():
        for dotted_path in settings.COUNCIL_SEEDERS:
            import_string(dotted_path)()
