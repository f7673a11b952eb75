"""Part 3: daily usage from each council's own data, into our ledger, then to Stripe's meters."""

import datetime

import pytest
from django.core.management import call_command
from django_tenants.utils import schema_context

from billing.actions.customers import create_customer
from billing.actions.metering import count_usage, meter_council, reconcile
from billing.models import BillingAccount, Meter, UsageRecord
from billing.stripe_gateway import StripeError
from income.actions.receipts import Allocation, record_receipt
from income.defaults import seed_income_defaults
from income.models import Channel
from tests.billing.conftest import YESTERDAY
from tests.factories import FundFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def receipts_a(council_a):
    """Three receipts yesterday and one the day before in council A; none in B."""
    with schema_context(council_a.schema_name):
        seed_income_defaults()
        cash = Channel.objects.get(code="CASH")
        fund = FundFactory(code="CTAX", name="Council Tax")
        for n, day in enumerate([YESTERDAY] * 3 + [YESTERDAY - datetime.timedelta(days=1)]):
            record_receipt(
                channel=cash,
                amount_pence=1_000,
                received_on=day,
                allocations=[Allocation(fund, 1_000)],
                idempotency_key=f"meter-test-{n}",
                acting_user=None,
            )


@pytest.fixture
def billed_a(price_book, council_a):
    BillingAccount.objects.create(council=council_a)
    return create_customer(council_id=council_a.pk)


def test_counts_come_from_the_councils_own_schema(receipts_a, council_a, council_b):
    assert count_usage(council_a, YESTERDAY)[Meter.TRANSACTIONS] == 3
    assert count_usage(council_b, YESTERDAY)[Meter.TRANSACTIONS] == 0


def test_a_days_usage_is_recorded_and_sent_once(receipts_a, billed_a, stripe_standin, council_a):
    meter_council(council_a, YESTERDAY)
    record = UsageRecord.objects.get(council=council_a, day=YESTERDAY, meter=Meter.TRANSACTIONS)
    assert record.quantity == 3 and record.sent_at is not None
    identifier = f"{council_a.schema_name}:{YESTERDAY.isoformat()}:transactions"
    event = stripe_standin.meter_events[identifier]
    assert event["payload"] == {"stripe_customer_id": billed_a.stripe_customer_id, "value": "3"}
    sent = len(stripe_standin.meter_events)
    assert meter_council(council_a, YESTERDAY) == 0
    assert len(stripe_standin.meter_events) == sent


def test_a_resend_of_a_day_stripe_already_has_changes_nothing(
    receipts_a, billed_a, stripe_standin, council_a
):
    meter_council(council_a, YESTERDAY)
    before = dict(stripe_standin.meter_events)
    UsageRecord.objects.update(sent_at=None)  # as if the answers had been lost
    meter_council(council_a, YESTERDAY)
    assert stripe_standin.meter_events == before
    assert not UsageRecord.objects.filter(sent_at__isnull=True).exists()


def test_stripe_429_during_metering_is_retried_and_nothing_is_sent_twice(
    receipts_a, billed_a, stripe_standin, council_a
):
    stripe_standin.fail_next(429, 429)
    meter_council(council_a, YESTERDAY)
    posts = [r for r in stripe_standin.requests if r == ("POST", "/v1/billing/meter_events")]
    records = UsageRecord.objects.filter(council=council_a)
    assert len(posts) == records.count() + 2  # two refused, then each sent once
    assert len(stripe_standin.meter_events) == records.count()
    assert not records.filter(sent_at__isnull=True).exists()


def test_stripe_down_loses_nothing_the_next_run_catches_up(
    receipts_a, billed_a, stripe_standin, council_a
):
    stripe_standin.fail_next(500, 500, 500, 500)  # beyond the library's three retries
    with pytest.raises(StripeError):
        meter_council(council_a, YESTERDAY)
    assert UsageRecord.objects.filter(council=council_a, sent_at__isnull=True).exists()
    assert meter_council(council_a, YESTERDAY) > 0
    assert not UsageRecord.objects.filter(sent_at__isnull=True).exists()
    identifier = f"{council_a.schema_name}:{YESTERDAY.isoformat()}:transactions"
    assert stripe_standin.meter_events[identifier]["payload"]["value"] == "3"


def test_reconciliation_lists_every_difference(
    receipts_a, billed_a, stripe_standin, council_a, capsys
):
    meter_council(council_a, YESTERDAY)
    assert reconcile(YESTERDAY - datetime.timedelta(days=3), YESTERDAY) == []
    UsageRecord.objects.filter(day=YESTERDAY, meter=Meter.TRANSACTIONS).update(quantity=5)
    assert reconcile(YESTERDAY - datetime.timedelta(days=3), YESTERDAY) == [
        f"{council_a.schema_name} {YESTERDAY} transactions: ours 5, Stripe 3"
    ]
    call_command("reconcile_usage", "--end", YESTERDAY.isoformat())
    assert "1 difference(s)" in capsys.readouterr().out


def test_the_daily_task_runs_in_the_councils_schema(
    receipts_a, billed_a, stripe_standin, council_a
):
    from billing.tasks import meter_usage_daily

    with schema_context(council_a.schema_name):
        meter_usage_daily.apply().get()
    record = UsageRecord.objects.get(council=council_a, day=YESTERDAY, meter=Meter.TRANSACTIONS)
    assert (record.quantity, record.sent_at is not None) == (3, True)
