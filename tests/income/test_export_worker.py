""" "Export now" on a real Celery worker: queued when the request commits, made in the
council's schema, the file there to download when the page says it is made."""

import datetime
import secrets

import pytest
from django.db import connection, transaction
from django_tenants.utils import schema_context

from income.actions.exports import request_export
from income.actions.receipts import Allocation, record_receipt
from income.defaults import seed_income_defaults
from income.exports.export_file import export_files
from income.exports.layout import parse_fields
from income.models import Channel, ExportStatus, ExportTarget
from tenants.actions.councils import create_council
from tests.exported import export_text
from tests.factories import FundFactory
from tests.waiting import wait_for

pytestmark = pytest.mark.worker


@pytest.fixture
def committed_council(django_db_setup, django_db_blocker):
    """A council whose writes commit, so the worker sees them; dropped afterwards."""
    with django_db_blocker.unblock():
        council = create_council(
            name="Export Worker Council", slug=f"exp-{secrets.token_hex(3)}", acting_user=None
        )
        yield council
        connection.set_schema_to_public()
        council.delete(force_drop=True)


def test_export_now_is_made_by_the_worker_once_it_commits(celery_worker_process, committed_council):
    council = committed_council
    with schema_context(council.schema_name):
        seed_income_defaults()
        fund = FundFactory(code="PARK", name="Parking Fines")
        for n in range(3):
            record_receipt(
                channel=Channel.objects.get(code="CASH"),
                amount_pence=1_000 + n,
                received_on=datetime.date(2026, 11, 20),
                allocations=[Allocation(fund, 1_000 + n)],
                idempotency_key=f"counter:worker-export-{n}",
                acting_user=None,
                payer_reference=f"PCN{n:06d}",
            )
        target = ExportTarget.objects.create(
            name="Parking system", fields=parse_fields("reference\namount")
        )
        with transaction.atomic():
            run = request_export(council=council, target=target, acting_user=None)
            assert run.status == ExportStatus.QUEUED

        def finished():
            run.refresh_from_db()
            return run.is_finished

        wait_for(finished, timeout=60)
        assert run.status == ExportStatus.COMPLETED, (run.message, celery_worker_process.log())
        assert export_text(run).splitlines() == [
            "reference,amount",
            "PCN000000,10.00",
            "PCN000001,10.01",
            "PCN000002,10.02",
            "TRAILER,3,30.03",
        ]
        assert "Task income.make_export[" in celery_worker_process.log()
        export_files().delete(run.sha256)
