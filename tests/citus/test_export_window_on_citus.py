"""The exports' window (income.exports.window) compares each posting's transaction id with the
snapshot an export run takes on the coordinator. On Citus the posting is written on a worker,
so its transaction id must still be the coordinator's, for a receipt and for an import."""

from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from income.actions.receipts import Allocation, record_receipt
from income.models import Channel, Posting
from tests.factories import FundFactory


def test_a_postings_transaction_id_is_the_coordinators(db, council_a):
    with schema_context(council_a.schema_name):
        fund = FundFactory(code="XACT", name="Window check")
        recorded = record_receipt(
            channel=Channel.objects.get(code="CASH"),
            amount_pence=500,
            received_on=timezone.localdate(),
            allocations=[Allocation(fund, 500)],
            idempotency_key="citus:xact",
            acting_user=None,
        )
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_current_xact_id()::text::bigint")
            coordinator_xact = cursor.fetchone()[0]
        xact_ids = set(
            Posting.objects.filter(receipt=recorded.receipt).values_list("xact_id", flat=True)
        )
    assert xact_ids == {coordinator_xact}
