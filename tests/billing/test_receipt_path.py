"""Recording a receipt does no billing work at all: metering counts each council's day
afterwards, in one statement, so no billing table is read or written on the receipt path."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from billing.models import UsageRecord
from income.actions.receipts import Allocation, record_receipt
from income.defaults import seed_income_defaults
from income.models import Channel
from tests.factories import FundFactory

pytestmark = pytest.mark.django_db

BILLING_TABLES = ("billing_",)


def test_recording_a_receipt_touches_no_billing_table(council_a, price_book):
    with schema_context(council_a.schema_name):
        seed_income_defaults()
        cash = Channel.objects.get(code="CASH")
        fund = FundFactory(code="CTAX", name="Council Tax")
        with CaptureQueriesContext(connection) as queries:
            receipt = record_receipt(
                channel=cash,
                amount_pence=2_500,
                received_on=timezone.localdate(),
                allocations=[Allocation(fund, 2_500)],
                idempotency_key="receipt-path-1",
                acting_user=None,
            )
    assert receipt.receipt.pk and len(queries) > 0  # the receipt was recorded, its queries captured
    touching = [q["sql"] for q in queries if any(t in q["sql"] for t in BILLING_TABLES)]
    assert touching == []
    assert not UsageRecord.objects.exists()
