"""A council's lifecycle from the console: suspended (read-only) and reactivated; closing (its
whole schema archived, checked) and closed (schema dropped once its name is typed)."""

import csv
import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django_tenants.utils import schema_context

from tenants.actions.councils import create_council
from tenants.actions.lifecycle import (
    begin_closing,
    drop_council_schema,
    reactivate_council,
    suspend_council,
)
from tenants.audit.models import AuditEvent
from tenants.models import Council, CouncilArchive, CouncilRole, CouncilStatus, PlatformRole
from tenants.tasks import archive_council_data
from tests.citus_suite import skip_on_citus
from tests.conftest import host_client, make_member, sign_in
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SUSPENDED = "is suspended: you can look and export, but nothing can change."


@pytest.fixture
def operator():
    return UserFactory(platform_role=PlatformRole.OPERATOR)


@pytest.fixture
def council(django_db_blocker) -> Council:
    """A council of this test's own (inside its transaction, so it vanishes afterwards)."""
    return create_council(name="Lakeside Council", slug="lakeside", acting_user=None)


@pytest.fixture
def data_dir(settings, tmp_path) -> Path:
    settings.DATA_DIR = tmp_path
    return tmp_path


def schema_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [name])
        return cursor.fetchone() is not None


def test_a_suspended_council_is_read_only_until_reactivated(council, operator):
    admin = make_member(council, CouncilRole.ADMIN)
    client = sign_in(host_client(council), admin)

    suspend_council(council=council, reason="Invoices unpaid", acting_user=operator)

    assert client.get("/team/").status_code == 200  # looking still works
    assert client.get("/receipts/").status_code == 200
    exported = client.get("/config/funds/?format=csv")  # and exporting
    assert exported.status_code == 200
    assert exported["Content-Type"] == "text/csv"
    for path in ("/team/invite/", "/receipts/new/", "/config/funds/new/"):
        refused = client.post(path, {"email": "x@example.org", "role": "auditor"})
        assert refused.status_code == 403, path
        assert f"Lakeside Council {SUSPENDED}" in refused.content.decode(), path
    council.refresh_from_db()
    assert (council.status, council.status_reason) == ("suspended", "Invoices unpaid")
    public = AuditEvent.objects.get(action="council.suspended")
    assert (public.reason, public.actor_email) == ("Invoices unpaid", operator.email)
    with schema_context(council.schema_name):
        assert AuditEvent.objects.filter(action="council.suspended").exists()

    reactivate_council(council=council, reason="Paid", acting_user=operator)

    response = client.post("/team/invite/", {"email": "x@example.org", "role": "auditor"})
    assert response.status_code == 302
    council.refresh_from_db()
    assert council.status == CouncilStatus.ACTIVE


def test_suspending_through_the_console_asks_for_a_reason_and_the_password_again(council, operator):
    client = sign_in(host_client(None), operator, recently_reauthenticated=False)
    path = f"/console/councils/{council.pk}/suspend/"

    response = client.post(path, {"suspend-reason": "Unpaid"})
    assert response["Location"].startswith("/accounts/reauthenticate/")
    council.refresh_from_db()
    assert council.status == CouncilStatus.ACTIVE

    client = sign_in(host_client(None), operator)
    assert "This field is required" in client.post(path, {"suspend-reason": ""}).content.decode()
    response = client.post(path, {"suspend-reason": "Unpaid"})
    assert response.status_code == 302
    council.refresh_from_db()
    assert council.status == CouncilStatus.SUSPENDED
    page = client.get(f"/console/councils/{council.pk}/").content.decode()
    assert "Reactivate Lakeside Council" in page
    assert "Unpaid" in page


def test_support_staff_and_council_admins_cannot_change_a_council(council):
    support = UserFactory(platform_role=PlatformRole.SUPPORT)
    admin = make_member(council, CouncilRole.ADMIN)
    for person in (support, admin):
        client = sign_in(host_client(None), person)
        for change in ("suspend", "reactivate", "close", "drop"):
            response = client.post(
                f"/console/councils/{council.pk}/{change}/",
                {f"{change}-reason": "x", "typed_name": council.name},
            )
            assert response.status_code == 403, (person, change)
        with pytest.raises(PermissionDenied):
            suspend_council(council=council, reason="x", acting_user=person)
    council.refresh_from_db()
    assert council.status == CouncilStatus.ACTIVE


def test_changes_out_of_order_are_refused(council, operator):
    with pytest.raises(
        ValidationError, match="Lakeside Council is active: it cannot be reactivated"
    ):
        reactivate_council(council=council, reason="x", acting_user=operator)
    with pytest.raises(ValidationError, match="Enter the reason"):
        suspend_council(council=council, reason=" ", acting_user=operator)
    with pytest.raises(ValidationError, match="cannot be closed for good"):
        drop_council_schema(council=council, typed_name=council.name, acting_user=operator)


@skip_on_citus(
    "the council is created and dropped in the test's one transaction, and the worker then "
    "still holds that transaction's deferred key checks, which block the drop there"
)
def test_closing_archives_every_table_with_row_counts_and_checksums_then_drops_on_the_typed_name(
    council, operator, data_dir, django_capture_on_commit_callbacks
):
    member = make_member(council, CouncilRole.ADMIN)
    with django_capture_on_commit_callbacks() as enqueued:
        archive_row = begin_closing(council=council, reason="Leaving", acting_user=operator)
    assert len(enqueued) == 1  # the archive task, sent once the change is committed
    council.refresh_from_db()
    assert council.status == CouncilStatus.CLOSING
    assert host_client(council).get("/").status_code == 404  # its hosts stop answering
    with pytest.raises(ValidationError, match="has not been archived yet"):
        drop_council_schema(council=council, typed_name=council.name, acting_user=operator)

    with schema_context(council.schema_name):
        archive_council_data.run(archive_row.pk)  # what the worker runs

    archive_row.refresh_from_db()
    assert archive_row.status == "done"
    archive_path = data_dir / archive_row.archive_path
    assert hashlib.sha256(archive_path.read_bytes()).hexdigest() == archive_row.archive_sha256
    with zipfile.ZipFile(archive_path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        assert manifest["schema"] == "council_lakeside"
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s", ["council_lakeside"]
            )
            tables = {row[0] for row in cursor.fetchall()}
        assert set(manifest["tables"]) == tables  # every table
        for table, entry in manifest["tables"].items():
            data = archive.read(entry["file"])
            assert hashlib.sha256(data).hexdigest() == entry["sha256"], table
            rows = list(csv.reader(io.StringIO(data.decode())))
            assert len(rows) - 1 == entry["rows"], table  # less the header
        assert manifest["tables"]["income_vatcode"]["rows"] > 0
        assert manifest["tables"]["audit_auditevent"]["rows"] > 0
    assert archive_row.table_count == len(tables)

    with pytest.raises(ValidationError, match="Type the council"):
        drop_council_schema(council=council, typed_name="lakeside council", acting_user=operator)
    assert schema_exists("council_lakeside")

    client = sign_in(host_client(None), operator)
    response = client.post(f"/console/councils/{council.pk}/drop/", {"typed_name": "Lakeside"})
    assert "Type the council" in response.content.decode()
    assert schema_exists("council_lakeside")
    client.post(f"/console/councils/{council.pk}/drop/", {"typed_name": "Lakeside Council"})

    council.refresh_from_db()
    assert council.status == CouncilStatus.CLOSED
    assert not schema_exists("council_lakeside")
    assert archive_path.exists()  # kept for the retention period
    assert CouncilArchive.objects.get(pk=archive_row.pk).retain_until is not None
    dropped = AuditEvent.objects.get(action="council.schema_dropped")
    assert dropped.after["archive_sha256"] == archive_row.archive_sha256
    assert member.memberships.exists()  # nothing else removed silently
    page = client.get("/console/").content.decode()
    assert "Closed" in page
    assert "no schema" in page


def test_a_closing_council_can_be_reactivated_while_its_schema_is_there(council, operator):
    begin_closing(council=council, reason="Leaving", acting_user=operator)
    reactivate_council(council=council, reason="Changed their mind", acting_user=operator)
    council.refresh_from_db()
    assert council.status == CouncilStatus.ACTIVE
    assert host_client(council).get("/health/live").status_code == 200


def test_a_failed_archive_can_be_made_again_and_stays_on_record(
    council, operator, data_dir, django_capture_on_commit_callbacks
):
    from tenants.actions.lifecycle import archive_again

    with pytest.raises(ValidationError, match="is not closing"):
        archive_again(council=council, acting_user=operator)
    first = begin_closing(council=council, reason="Leaving", acting_user=operator)
    with pytest.raises(ValidationError, match="An archive is already made or being made"):
        archive_again(council=council, acting_user=operator)
    CouncilArchive.objects.filter(pk=first.pk).update(status="failed", error="disk full")

    client = sign_in(host_client(None), operator)
    assert (
        "Archive the data again" in client.get(f"/console/councils/{council.pk}/").content.decode()
    )
    with django_capture_on_commit_callbacks() as enqueued:
        assert client.post(f"/console/councils/{council.pk}/archive/").status_code == 302
    assert len(enqueued) == 1
    assert list(council.archives.values_list("status", flat=True)) == ["queued", "failed"]


@skip_on_citus(
    "the council is created and dropped in the test's one transaction, and the worker then "
    "still holds that transaction's deferred key checks, which block the drop there"
)
def test_archives_past_their_retention_are_deleted_with_an_audit_record_and_no_sooner(
    council, operator, data_dir
):
    import datetime

    from django.core.management import call_command

    archive_row = begin_closing(council=council, reason="Leaving", acting_user=operator)
    with schema_context(council.schema_name):
        archive_council_data.run(archive_row.pk)
    drop_council_schema(council=council, typed_name=council.name, acting_user=operator)
    archive_row.refresh_from_db()
    archive = data_dir / archive_row.archive_path

    call_command("purge_expired_archives", stdout=io.StringIO())
    assert archive.exists()  # still within its retention period

    CouncilArchive.objects.filter(pk=archive_row.pk).update(
        retain_until=datetime.date.today() - datetime.timedelta(days=1)
    )
    output = io.StringIO()
    call_command("purge_expired_archives", stdout=output)

    assert not archive.exists()
    assert "1 archive(s)" in output.getvalue()
    archive_row.refresh_from_db()
    assert archive_row.status == "purged"  # the row, its checksum and history stay
    purged = AuditEvent.objects.get(action="council.archive_purged")
    assert purged.before["sha256"] == archive_row.archive_sha256
