"""Upgrades migrate only the council schemas behind the release, and skip the rest."""

import io

import pytest
from django.core.management import call_command
from django.db import connection

from tenants.models import Council, CouncilStatus
from tenants.upgrades import council_migration_states


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
