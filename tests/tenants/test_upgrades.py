"""Upgrades migrate only the council schemas behind the release, and skip the rest."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django_tenants.utils import schema_context

from tenants.audit.models import AuditEvent
from tenants.audit.recording import record_audit
from tenants.models import Council, CouncilStatus
from tenants.upgrades import council_migration_states
from tests.conftest import host_client


@pytest.fixture
def committed(django_db_setup, django_db_blocker):
    """Outside any test transaction: the migrating processes must see the schema."""
    with django_db_blocker.unblock():
        yield


@pytest.fixture
def council_behind(committed):
    """A council whose schema stopped at the audit app's first migration."""
    council = Council.objects.create(
        name="Behind Council", slug="behind-release", schema_name="council_behind_release",
        status=CouncilStatus.ACTIVE,
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA council_behind_release")
    call_command(
        "migrate_schemas", "audit", "0001_initial", schema_name="council_behind_release",
        interactive=False, verbosity=0,
    )  # fmt: skip
    connection.set_schema_to_public()
    yield council
    with connection.cursor() as cursor:
        cursor.execute("DROP SCHEMA IF EXISTS council_behind_release CASCADE")
    council.delete()


def test_only_the_councils_behind_the_release_are_migrated(council_a, council_behind):
    listed = io.StringIO()
    call_command("migrate_councils", "--dry-run", stdout=listed)
    behind = [state for state in council_migration_states() if not state.current]
    assert [state.schema_name for state in behind] == ["council_behind_release"]
    assert "1 of" in listed.getvalue() and "council_behind_release" in listed.getvalue()
    assert council_a.schema_name not in listed.getvalue()

    done = io.StringIO()
    call_command("migrate_councils", "--jobs", "2", stdout=done)

    assert "1 migrated" in done.getvalue()
    assert all(state.current for state in council_migration_states())
    again = io.StringIO()
    call_command("migrate_councils", stdout=again)
    assert again.getvalue().startswith("0 of")


def _conflict_with_the_audit_trigger(schema_name: str) -> None:
    """An object of the name the audit app's next migration creates: that migration fails."""
    with connection.cursor() as cursor:
        cursor.execute(f"SET search_path = {schema_name}")
        cursor.execute(
            "CREATE FUNCTION stray() RETURNS trigger AS $$ BEGIN RETURN NEW; END; $$"
            " LANGUAGE plpgsql"
        )
        cursor.execute(
            "CREATE TRIGGER audit_auditevent_append_only BEFORE UPDATE ON audit_auditevent"
            " FOR EACH ROW EXECUTE FUNCTION stray()"
        )
        cursor.execute("SET search_path = public")


def test_a_release_names_the_council_whose_migration_failed_and_can_be_run_again(
    council_a, council_behind
):
    _conflict_with_the_audit_trigger("council_behind_release")

    with pytest.raises(CommandError, match="migrating failed for: council_behind_release"):
        call_command("release", stdout=io.StringIO())

    states = {state.schema_name: state.current for state in council_migration_states()}
    assert states.pop("council_behind_release") is False
    assert states[council_a.schema_name] and all(states.values())  # every other council
    with schema_context(council_a.schema_name):  # the other council works as before
        record_audit("test.still_working", acting_user=None)
        assert AuditEvent.objects.filter(action="test.still_working").exists()
    connection.set_schema_to_public()

    with connection.cursor() as cursor:  # an operator mends the schema...
        cursor.execute(
            "DROP TRIGGER audit_auditevent_append_only ON council_behind_release.audit_auditevent"
        )
    done = io.StringIO()
    call_command("release", stdout=done)  # ...and runs the release again

    assert "1 of" in done.getvalue() and "1 migrated" in done.getvalue()
    assert all(state.current for state in council_migration_states())


def test_readiness_fails_while_a_council_is_behind_the_release(council_a, council_behind, settings):
    settings.READINESS_CACHE_SECONDS = 0
    response = host_client(council_a).get("/readyz")
    assert response.status_code == 503
    assert response.json()["migrations"] == "1 council schema(s) behind this release"

    call_command("release", stdout=io.StringIO())
    assert host_client(council_a).get("/readyz").status_code == 200
