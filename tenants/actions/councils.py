"""Creating councils. The onboarding journey (tenants.actions.applications) builds on this."""

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tenants.utils import get_public_schema_name, schema_context

from tenants.actions.council_moves import place_new_council
from tenants.council_directory import council_directory
from tenants.models import Council, CouncilStatus, Domain, ProvisioningState, User
from tenants.models.council import DomainVerification
from tenants.placement import recent_worker_loads, refuse_unless_every_worker_answers
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
    gss_code: str | None = None,
) -> Council:
    """Create (or finish creating) a council with its schema and its platform host name.

    Idempotent: called again with the same slug it completes whatever a crash left undone and
    returns the same council. PlacementRefused while a worker of a Citus cluster is down.
    `acting_user` is None only for the platform itself (the demo).
    """
    schema_name = schema_name_for_slug(slug)
    # On a Citus cluster with a worker down: PlacementRefused, before anything is made.
    refuse_unless_every_worker_answers()
    # On a Citus cluster, the workers' loads from before this council takes any space.
    loads = recent_worker_loads.read()
    with schema_context(get_public_schema_name()), transaction.atomic():
        council, _ = Council.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "schema_name": schema_name,
                "status": status,
                "gss_code": gss_code,
                "status_changed": timezone.now(),
            },
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
    # Run again on a council that was ready, it may be taking payments already.
    in_use = council.provisioning_state == ProvisioningState.READY
    # Each step is safe to repeat, and the council records how far it got, so a retry after a
    # crash finishes the job and the console shows where it stopped.
    if provision_schema(council, loads=loads):
        # Built from the release's snapshot, defaults and all, in one transaction.
        _record_progress(council, ProvisioningState.READY)
    else:
        _record_progress(council, ProvisioningState.SCHEMA_BUILT)
        seed_council_defaults(council)
        _record_progress(council, ProvisioningState.SEEDED)
        _record_progress(council, ProvisioningState.READY)
    # On a Citus cluster: onto the least-loaded worker, while the schema is still small.
    place_new_council(council, loads=loads, in_use=in_use)
    council_directory.forget()
    top_up_spare_schemas_on_commit()
    return council


def top_up_spare_schemas_on_commit() -> None:
    """Ask a worker to build the spare schemas the next councils will take (tenants.
    spare_schemas), once this transaction commits; nothing when the pool is turned off."""
    target = settings.SPARE_COUNCIL_SCHEMAS
    if target > 0:
        transaction.on_commit(
            lambda: current_app.send_task("tenants.replenish_spare_schemas", [target])
        )


_PROGRESS_ORDER = list(ProvisioningState.values)


def _record_progress(council: Council, state: ProvisioningState) -> None:
    if _PROGRESS_ORDER.index(council.provisioning_state) >= _PROGRESS_ORDER.index(state):
        return
    council.provisioning_state = state
    with schema_context(get_public_schema_name()):
        Council.objects.filter(pk=council.pk).update(provisioning_state=state)


def seed_council_defaults(council: Council) -> None:
    """Run each of settings.COUNCIL_SEEDERS in the council's schema (idempotent seeders).

    The seeders belong to the apps above this one (income's VAT codes, channels and system
    accounts); settings, the wiring layer, names them so that tenants never imports income.
    """
    with schema_context(council.schema_name), transaction.atomic():
        for dotted_path in settings.COUNCIL_SEEDERS:
            import_string(dotted_path)()
