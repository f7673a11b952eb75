"""The import task on a real Celery worker: queued when the upload commits, run in the
council's schema, all of the file in the ledger when it says it is done."""

import datetime
import secrets

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django_tenants.utils import schema_context

from income.actions.imports import upload_import
from income.formats import allpay
from income.imports.storage import import_files
from income.models import ImportBatch, ImportStatus, Receipt, ReferenceRule
from tenants.actions.councils import create_council
from tests.factories import FundFactory
from tests.waiting import wait_for

pytestmark = pytest.mark.worker


@pytest.fixture
def committed(django_db_blocker):
    with django_db_blocker.unblock():
        yield


def test_an_upload_is_imported_by_the_worker_once_it_commits(
    django_db_setup, celery_worker_process, committed
):
    # A council of its own: what the worker commits stays out of other tests' councils.
    council = create_council(
        name="Import Worker Council", slug=f"imp-{secrets.token_hex(3)}", acting_user=None
    )
    day = datetime.date(2026, 11, 20)
    with schema_context(council.schema_name):
        rule = ReferenceRule.objects.create(name="Parking", pattern=r"PCN\d{6}")
        FundFactory(code="PARK", name="Parking Fines", reference_rule=rule)
        lines = [
            allpay.write_line(reference=f"PCN{n:06d}", amount_pence=1_000 + n, letter="T", date=day)
            for n in range(1, 51)
        ]
        lines.append("too short to be a line")
        lines += allpay.write_trailer(total_pence=sum(1_000 + n for n in range(1, 51)), count=51)
        content = ("\r\n".join(lines) + "\r\n").encode()
        with transaction.atomic():
            batch = upload_import(
                council=council,
                uploaded_file=SimpleUploadedFile("paypoint.txt", content),
                format_name="allpay",
                acting_user=None,
            )
            assert ImportBatch.objects.get(pk=batch.pk).status == ImportStatus.QUEUED

        def finished():
            batch.refresh_from_db()
            return batch.is_finished

        wait_for(finished, timeout=60)
        assert batch.status == ImportStatus.COMPLETED, (batch.message, celery_worker_process.log())
        assert batch.receipts_created == 50
        assert batch.rejected_count == 1
        assert batch.fund_totals[0]["pence"] == sum(1_000 + n for n in range(1, 51))
        assert Receipt.objects.filter(import_batch=batch).count() == 50
        assert "Task income.run_import[" in celery_worker_process.log()
        import_files().delete(batch.sha256)


def test_progress_is_written_from_a_connection_of_its_own(council_a, committed):
    """The import's own transaction hides everything until it commits; progress must not."""
    from django.db import connection

    from income.imports.progress import ProgressReporter

    with schema_context(council_a.schema_name):
        batch = ImportBatch.objects.create(
            file_name="x.txt",
            sha256=secrets.token_hex(32),
            size_bytes=1000,
            format="allpay",
            default_date=datetime.date(2026, 11, 20),
            status=ImportStatus.RUNNING,
        )
        try:
            with transaction.atomic():
                reporter = ProgressReporter(batch.pk)
                reporter.report(phase="Reading the file", bytes_read=500, lines_read=42, force=True)
                reporter.close()
                # Seen from outside the (still open) transaction, as the page would see it.
                batch.refresh_from_db()
                assert connection.in_atomic_block
            assert (batch.phase, batch.bytes_read, batch.lines_read) == (
                "Reading the file",
                500,
                42,
            )
            assert batch.percent_done == 45
        finally:
            ImportBatch.objects.filter(pk=batch.pk).delete()
