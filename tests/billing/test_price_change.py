"""A price change mid-period: from the day a new price takes effect the subscription bills the
new price; the usage before it stays on the old price, and the fixed share is prorated."""

import datetime
from datetime import UTC

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from billing.actions.customers import create_customer
from billing.actions.metering import meter_council
from billing.actions.price_book import add_price_book_row, sync_price_book
from billing.actions.price_changes import move_to_current_prices
from billing.models import BillingAccount, PriceBookRow, PriceKind
from income.actions.receipts import Allocation, record_receipt
from income.defaults import seed_income_defaults
from income.models import Channel
from tenants.audit.models import AuditEvent
from tenants.models import PlatformRole
from tests.factories import FundFactory, UserFactory

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()
DAY = 86_400
MIDNIGHT = int(datetime.datetime.combine(TODAY, datetime.time(), tzinfo=UTC).timestamp())


@pytest.fixture
def old_prices(db, stripe_standin):
    """The price book as it stood from three weeks ago (rows written then, as the operator's
    form did: they cannot be added backdated today)."""
    since = TODAY - datetime.timedelta(days=21)
    PriceBookRow.objects.create(kind=PriceKind.BAND, amount_pence=50_000, effective_from=since)
    PriceBookRow.objects.create(kind=PriceKind.TRANSACTION, amount_pence=2, effective_from=since)
    PriceBookRow.objects.create(
        kind=PriceKind.STORAGE_GB, amount_pence=10, allowance_gb=5, effective_from=since
    )
    sync_price_book()


@pytest.fixture
def billed_15_days_ago(old_prices, stripe_standin, council_a):
    BillingAccount.objects.create(council=council_a)
    stripe_standin.advance(-15 * DAY)
    account = create_customer(council_id=council_a.pk)
    stripe_standin.advance(15 * DAY)
    return account


def receipts(council, day, count, start):
    with schema_context(council.schema_name):
        seed_income_defaults()
        cash = Channel.objects.get(code="CASH")
        fund = FundFactory(code=f"F{start}", name=f"Fund {start}")
        for n in range(count):
            record_receipt(
                channel=cash, amount_pence=500, received_on=day,
                allocations=[Allocation(fund, 500)], idempotency_key=f"price-test-{start + n}",
                acting_user=None,
            )  # fmt: skip


def test_a_price_change_mid_period_bills_old_usage_at_the_old_price_and_new_at_the_new(
    billed_15_days_ago, stripe_standin, council_a
):
    receipts(council_a, TODAY - datetime.timedelta(days=5), 4, start=0)
    meter_council(council_a, TODAY - datetime.timedelta(days=1))
    operator = UserFactory(platform_role=PlatformRole.OPERATOR)
    for kind, amount in ((PriceKind.TRANSACTION, 3), (PriceKind.BAND, 60_000)):
        add_price_book_row(kind=kind, amount_pence=amount, effective_from=TODAY,
                           acting_user=operator)  # fmt: skip
    sync_price_book()

    change = move_to_current_prices(council=council_a, acting_user=None, today=TODAY)

    new = {row.kind: row.stripe_price_id for row in PriceBookRow.objects.filter(
        effective_from=TODAY)}  # fmt: skip
    assert sorted(change["added"]) == sorted(new.values())
    [subscription] = stripe_standin.of_type("subscription")
    assert subscription["billing_mode"]["type"] == "flexible"
    held = sorted(item["price"]["unit_amount"] for item in subscription["items"]["data"])
    assert held == [3, 10, 60_000]
    items = stripe_standin.invoice_items(billed_15_days_ago.stripe_customer_id)
    by_description = {item["description"].split(" ")[0]: item for item in items}
    # The usage before the change, billed at the old 2p when the old price left.
    usage = by_description["Usage"]
    assert (usage["quantity"], usage["amount"]) == (4, 8)
    # The fixed share prorated from the start of today: the old credited, the new charged.
    [band] = [i for i in subscription["items"]["data"] if i["price"]["unit_amount"] == 60_000]
    period = band["current_period_end"] - band["current_period_start"]
    left = band["current_period_end"] - MIDNIGHT
    assert by_description["Unused"]["amount"] == -((50_000 * left + period // 2) // period)
    assert by_description["Remaining"]["amount"] == (60_000 * left + period // 2) // period
    assert by_description["Remaining"]["period"]["start"] == MIDNIGHT

    # Today's usage is counted on the new price; the period's invoice shows both.
    receipts(council_a, TODAY, 6, start=100)
    meter_council(council_a, TODAY)
    invoice = stripe_standin.renew(subscription["id"])
    metered = sorted(
        (line["pricing"]["unit_amount_decimal"], line["quantity"], line["amount"])
        for line in invoice["lines"]["data"]
        if line["pricing"]["unit_amount_decimal"] in ("2", "3")
    )
    assert metered == [("2", 4, 8), ("3", 6, 18)]

    event = AuditEvent.objects.get(action="billing.subscription_prices_changed")
    assert event.after["effective"] == TODAY.isoformat()


def test_moving_again_changes_nothing(billed_15_days_ago, stripe_standin, council_a):
    add_price_book_row(kind=PriceKind.TRANSACTION, amount_pence=3, effective_from=TODAY,
                       acting_user=None)  # fmt: skip
    sync_price_book()
    assert move_to_current_prices(council=council_a, acting_user=None, today=TODAY)["added"]
    again = move_to_current_prices(council=council_a, acting_user=None, today=TODAY)
    assert again == {"removed": [], "added": []}
    modifies = [r for r in stripe_standin.requests if r[0] == "POST" and r[1].startswith(
        "/v1/subscriptions/")]  # fmt: skip
    assert len(modifies) == 1
    assert AuditEvent.objects.filter(action="billing.subscription_prices_changed").count() == 1


def test_without_a_change_in_the_book_nothing_is_sent(
    billed_15_days_ago, stripe_standin, council_a
):
    assert move_to_current_prices(council=council_a, acting_user=None, today=TODAY) == {
        "removed": [],
        "added": [],
    }
    assert not stripe_standin.of_type("invoiceitem")


def test_a_classic_subscription_is_moved_to_flexible_first_so_no_usage_is_lost(
    old_prices, stripe_standin, council_a
):
    """Stripe drops a removed metered price's usage in classic billing mode: an older
    subscription is migrated to flexible before its prices change."""
    import stripe

    stripe.api_base = stripe_standin.url
    account = BillingAccount.objects.create(council=council_a)
    stripe_standin.advance(-15 * DAY)
    customer = stripe.Customer.create(name="Old", api_key="sk_test_x")
    prices = [row.stripe_price_id for row in PriceBookRow.objects.all()]
    classic = stripe.Subscription.create(
        customer=customer.id, items=[{"price": price} for price in prices],
        collection_method="send_invoice", days_until_due=30, api_key="sk_test_x",
    )  # fmt: skip
    stripe_standin.advance(15 * DAY)
    assert classic.billing_mode.type == "classic"
    BillingAccount.objects.filter(pk=account.pk).update(
        stripe_customer_id=customer.id, stripe_subscription_id=classic.id
    )
    receipts(council_a, TODAY - datetime.timedelta(days=3), 2, start=200)
    add_price_book_row(kind=PriceKind.TRANSACTION, amount_pence=3, effective_from=TODAY,
                       acting_user=None)  # fmt: skip
    sync_price_book()

    move_to_current_prices(council=council_a, acting_user=None, today=TODAY)

    assert stripe_standin.objects[classic.id]["billing_mode"]["type"] == "flexible"
    [usage] = [i for i in stripe_standin.invoice_items(customer.id) if not i["proration"]]
    assert (usage["quantity"], usage["amount"]) == (2, 4)


def test_a_change_made_in_the_afternoon_still_bills_that_days_usage_at_the_new_price(
    billed_15_days_ago, stripe_standin, council_a
):
    """The day's usage is reported at midday; a change the beat's retries push past midday
    must not leave it before the new price's start, where no price would bill it."""
    stripe_standin.now = MIDNIGHT + 15 * 3600
    add_price_book_row(kind=PriceKind.TRANSACTION, amount_pence=3, effective_from=TODAY,
                       acting_user=None)  # fmt: skip
    sync_price_book()
    move_to_current_prices(council=council_a, acting_user=None, today=TODAY)

    receipts(council_a, TODAY, 6, start=300)
    meter_council(council_a, TODAY)

    [subscription] = stripe_standin.of_type("subscription")
    invoice = stripe_standin.renew(subscription["id"])
    metered = [
        (line["pricing"]["unit_amount_decimal"], line["quantity"])
        for line in invoice["lines"]["data"]
        if line["pricing"]["unit_amount_decimal"] == "3"
    ]
    assert metered == [("3", 6)]
