"""The same payment submitted many times at once still makes one receipt."""

import datetime

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from income.actions.receipts import Allocation, record_receipt
from income.defaults import seed_income_defaults
from income.models import Channel, Fund, Posting, Receipt
from tenants.actions.councils import create_council
from tests.concurrency import run_at_once
from tests.factories import FundFactory

SUBMISSIONS = 8


@pytest.fixture
def committed_council(django_db_setup, django_db_blocker):
    """A council of its own whose writes are committed, so that threads see one another."""
    with django_db_blocker.unblock():
        council = create_council(name="Concurrency Council", slug="concurrency", acting_user=None)
        with schema_context(council.schema_name):
            seed_income_defaults()
            FundFactory(code="CTAX")
        yield council
        connection.set_schema_to_public()
        council.delete(force_drop=True)


def test_concurrent_submissions_of_one_payment_create_one_receipt(committed_council):
    def submit(ready) -> tuple[str, bool]:
        with schema_context(committed_council.schema_name):
            channel = Channel.objects.get(code="CARD")
            fund = Fund.objects.get(code="CTAX")
            ready()
            recorded = record_receipt(
                channel=channel,
                amount_pence=12_345,
                received_on=datetime.date(2026, 11, 24),
                allocations=[Allocation(fund, 12_345)],
                idempotency_key="govukpay:concurrent-payment",
                acting_user=None,
            )
            return recorded.receipt.number, recorded.created

    outcomes = run_at_once(submit, [()] * SUBMISSIONS, timeout=30)

    assert len({number for number, _ in outcomes}) == 1
    assert sum(created for _, created in outcomes) == 1
    with schema_context(committed_council.schema_name):
        assert Receipt.objects.count() == 1
        assert Posting.objects.count() == 2
