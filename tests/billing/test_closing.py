"""A council closed mid-period: its usage to the day of closing reaches Stripe, and Stripe makes
a final invoice (the usage to that moment, less a credit for the fixed share's unused time)."""

from pathlib import Path

import pytest
from celery.signals import before_task_publish
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import schema_context

from billing.actions.account_closing import close_billing_account
from billing.actions.customers import create_customer
from billing.models import BillingAccount, Invoice
from income.actions.receipts import Allocation, record_receipt
from income.defaults import seed_income_defaults
from income.models import Channel
from tenants.audit.models import AuditEvent
from tenants.models import PlatformRole
from tests.billing.conftest import YESTERDAY
from tests.conftest import host_client, sign_in
from tests.factories import FundFactory, UserFactory

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()
DAY = 86_400


@pytest.fixture
def receipts_a(council_a):
    """Three receipts yesterday and two today, the day the council closes."""
    with schema_context(council_a.schema_name):
        seed_income_defaults()
        cash = Channel.objects.get(code="CASH")
        fund = FundFactory(code="CTAX", name="Council Tax")
        for n, day in enumerate([YESTERDAY] * 3 + [TODAY] * 2):
            record_receipt(
                channel=cash, amount_pence=1_000, received_on=day,
                allocations=[Allocation(fund, 1_000)], idempotency_key=f"close-test-{n}",
                acting_user=None,
            )  # fmt: skip


@pytest.fixture
def billed_10_days_ago(price_book, stripe_standin, council_a):
    """Council A's subscription began ten days ago (the stand-in's clock wound back for it)."""
    BillingAccount.objects.create(council=council_a, contact_email="ap@north.example")
    stripe_standin.advance(-10 * DAY)
    account = create_customer(council_id=council_a.pk)
    stripe_standin.advance(10 * DAY)
    return account


def test_closing_mid_period_sends_the_days_usage_and_stripe_makes_the_final_invoice(
    receipts_a, billed_10_days_ago, stripe_standin, council_a
):
    operator = UserFactory(platform_role=PlatformRole.OPERATOR)
    invoice = close_billing_account(council=council_a, acting_user=operator)

    # The closing day's usage was sent before the subscription was cancelled.
    today_id = f"{council_a.schema_name}:{TODAY.isoformat()}:transactions"
    assert stripe_standin.meter_events[today_id]["payload"]["value"] == "2"
    [subscription] = stripe_standin.of_type("subscription")
    assert subscription["status"] == "canceled"
    final = stripe_standin.objects[subscription["latest_invoice"]]
    lines = {line["pricing"]["unit_amount_decimal"]: line for line in final["lines"]["data"]}
    # Every transaction of the period to the moment of closing, at 2p: 3 yesterday, 2 today.
    assert (lines["2"]["quantity"], lines["2"]["amount"]) == (5, 10)
    assert lines["10"]["amount"] == 0  # storage within the allowance
    # The fixed share is credited for the days the council will not use.
    [item] = [i for i in subscription["items"]["data"] if i["price"]["unit_amount"] == 50_000]
    period = item["current_period_end"] - item["current_period_start"]
    unused = item["current_period_end"] - subscription["canceled_at"]
    credit = lines["50000"]["amount"]
    assert credit == -((50_000 * unused + period // 2) // period)
    assert -35_000 < credit < -30_000  # twenty days of a month of 28 to 31
    assert final["subtotal"] == 10 + credit
    assert final["amount_due"] == 0  # a credit: nothing to pay
    assert stripe_standin.objects[billed_10_days_ago.stripe_customer_id]["balance"] == (10 + credit)
    # Kept on our side, and audited.
    assert (invoice.stripe_id, invoice.status) == (final["id"], "open")
    billed_10_days_ago.refresh_from_db()
    assert billed_10_days_ago.subscription_status == "canceled"
    event = AuditEvent.objects.get(action="billing.account_closed")
    assert (event.actor_id, event.after["final_invoice"]) == (operator.pk, final["id"])


def test_closing_again_cancels_once_and_keeps_one_final_invoice(
    receipts_a, billed_10_days_ago, stripe_standin, council_a
):
    first = close_billing_account(council=council_a, acting_user=None)
    second = close_billing_account(council=council_a, acting_user=None)
    assert first == second
    deletes = [r for r in stripe_standin.requests if r[0] == "DELETE"]
    assert len(deletes) == 1
    assert Invoice.objects.count() == 1
    assert len(stripe_standin.of_type("invoice")) == 1


def test_usage_in_the_final_invoice_is_the_councils_own(
    receipts_a, billed_10_days_ago, stripe_standin, council_a, council_b
):
    # Council B is billed too, but used nothing: A's final invoice carries only A's usage.
    BillingAccount.objects.create(council=council_b)
    stripe_standin.advance(-10 * DAY)
    create_customer(council_id=council_b.pk)
    stripe_standin.advance(10 * DAY)
    close_billing_account(council=council_a, acting_user=None)
    b_account = BillingAccount.objects.get(council=council_b)
    b_sub = stripe_standin.objects[b_account.stripe_subscription_id]
    assert b_sub["status"] == "active"
    assert not any(
        event["payload"]["stripe_customer_id"] == b_account.stripe_customer_id
        for event in stripe_standin.meter_events.values()
    )


def test_a_council_never_billed_closes_without_stripe(stripe_standin, council_a):
    assert close_billing_account(council=council_a, acting_user=None) is None
    assert stripe_standin.requests == []


def test_stripe_down_while_closing_is_retried_by_the_task_and_nothing_is_made_twice(
    receipts_a, billed_10_days_ago, stripe_standin, council_a
):
    from billing.stripe_gateway import StripeError

    stripe_standin.fail_next(500, 500, 500, 500)  # beyond the library's retries
    with pytest.raises(StripeError):
        close_billing_account(council=council_a, acting_user=None)
    close_billing_account(council=council_a, acting_user=None)  # the task's retry
    assert len(stripe_standin.of_type("invoice")) == 1
    assert (
        stripe_standin.meter_events[f"{council_a.schema_name}:{TODAY.isoformat()}:transactions"][
            "payload"
        ]["value"]
        == "2"
    )


def test_closing_in_the_console_sends_billings_close_task_after_commit(
    council_a, django_capture_on_commit_callbacks
):
    operator = UserFactory(platform_role=PlatformRole.OPERATOR)
    client = sign_in(host_client(None), operator)
    with django_capture_on_commit_callbacks() as enqueued:
        answer = client.post(
            f"/console/councils/{council_a.pk}/close/", {"close-reason": "Leaving the platform"}
        )
    assert answer.status_code == 302
    published: list[tuple[str, list, str]] = []

    def seen(sender: str, body: tuple, headers: dict, **kwargs: object) -> None:
        published.append((sender, list(body[0]), headers["id"]))

    before_task_publish.connect(seen)
    try:
        enqueued[-1]()  # billing's, sent after the council's archive task
    finally:
        before_task_publish.disconnect(seen)
    [(name, arguments, task_id)] = published
    assert (name, arguments) == ("billing.close_account", [council_a.pk, operator.pk])
    # No worker of this session runs it against a council whose closing rolls back.
    for message in Path(settings.BROKER_DIR, "queue").glob("*"):
        if task_id in message.read_text(errors="ignore"):
            message.unlink()


def test_the_close_task_names_the_operator(
    receipts_a, billed_10_days_ago, stripe_standin, council_a
):
    from billing.tasks import close_account

    operator = UserFactory(platform_role=PlatformRole.OPERATOR)
    final_id = close_account.apply(args=[council_a.pk, operator.pk]).get()
    assert final_id == Invoice.objects.get().stripe_id
    assert AuditEvent.objects.get(action="billing.account_closed").actor_email == operator.email
