"""Part 4: Stripe's webhooks, verified, kept once and applied in any order."""

import json
import time

import pytest

from billing.actions.webhooks import WAITING_FOR_CUSTOMER, apply
from billing.models import BillingAccount, Invoice, StripeEvent
from tests.billing.conftest import OLD_WEBHOOK_SECRET, WEBHOOK_SECRET
from tests.conftest import host_client
from tests.standins.stripe_server import sign_payload

pytestmark = pytest.mark.django_db
URL = "/billing/stripe/webhook/"


@pytest.fixture
def account(db, council_a):
    return BillingAccount.objects.create(council=council_a, stripe_customer_id="cus_north")


def post(event: dict, signature: str | None):
    body = json.dumps(event).encode()
    headers = {"HTTP_STRIPE_SIGNATURE": signature} if signature is not None else {}
    return host_client(None).post(URL, body, content_type="application/json", **headers)


def signed(event: dict, secret: str = WEBHOOK_SECRET, age: int = 0):
    body = json.dumps(event).encode()
    return host_client(None).post(
        URL,
        body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign_payload(body, secret, int(time.time()) - age),
    )


def apply_all() -> list[str]:
    return [apply(event_id) for event_id in StripeEvent.objects.values_list("event_id", flat=True)]


def test_unsigned_mis_signed_and_stale_webhooks_are_refused(stripe_standin, account):
    invoice = stripe_standin.add_invoice("cus_north")
    event = stripe_standin.event("invoice.finalized", invoice)
    unsigned = post(event, None)
    assert (unsigned.status_code, unsigned.content) == (400, b"No Stripe-Signature header")
    wrong = signed(event, secret="whsec_someone_else")
    assert wrong.status_code == 400
    assert wrong.content.startswith(b"Signature refused: No signatures found matching")
    stale = signed(event, age=301)
    assert stale.status_code == 400
    assert b"Timestamp outside the tolerance zone" in stale.content
    tampered_body = json.dumps({**event, "type": "invoice.paid"}).encode()
    tampered = host_client(None).post(
        URL,
        tampered_body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign_payload(json.dumps(event).encode(), WEBHOOK_SECRET),
    )
    assert tampered.status_code == 400
    assert not StripeEvent.objects.exists()


def test_a_replayed_event_is_kept_once_and_applied_once(stripe_standin, account):
    invoice = stripe_standin.add_invoice("cus_north")
    event = stripe_standin.event("invoice.finalized", invoice)
    assert signed(event).content == b"ok"
    assert signed(event).content == b"already received"
    assert StripeEvent.objects.count() == 1
    assert apply_all() == [f"invoice {invoice['id']} is open"]
    assert apply_all() == [f"invoice {invoice['id']} is open"]
    assert Invoice.objects.get().status == "open"


def test_a_rotated_out_secret_still_verifies(stripe_standin, account):
    event = stripe_standin.event("invoice.finalized", stripe_standin.add_invoice("cus_north"))
    assert signed(event, secret=OLD_WEBHOOK_SECRET).status_code == 200


def test_events_out_of_order_leave_the_newest_state(stripe_standin, account):
    invoice = stripe_standin.add_invoice("cus_north")
    finalized = stripe_standin.event("invoice.finalized", invoice)
    overdue = stripe_standin.event("invoice.overdue", invoice, created=finalized["created"] + 60)
    paid = stripe_standin.event(
        "invoice.paid",
        stripe_standin.set_invoice_status(invoice["id"], "paid"),
        created=finalized["created"] + 120,
    )
    # Paid arrives first, then the older ones, each twice.
    for event in (paid, overdue, finalized, finalized, paid):
        assert signed(event).status_code == 200
    outcomes = [apply(event["id"]) for event in (paid, overdue, finalized)]
    assert outcomes[0] == f"invoice {invoice['id']} is paid"
    assert outcomes[1:] == ["ignored: paid is newer than this open"] * 2
    stored = Invoice.objects.get()
    assert (stored.status, stored.overdue, stored.amount_paid_pence) == ("paid", False, 10_000)


def test_an_event_storm_delivered_twice_and_shuffled_leaves_one_state_per_invoice(
    stripe_standin, account
):
    events, expected = [], {}
    for n in range(20):
        invoice = stripe_standin.add_invoice("cus_north", amount_due=100 + n)
        events.append(stripe_standin.event("invoice.finalized", invoice))
        final = "paid" if n % 2 else "void"
        kind = "invoice.paid" if final == "paid" else "invoice.voided"
        later = stripe_standin.set_invoice_status(invoice["id"], final)
        events.append(stripe_standin.event(kind, later, created=events[-1]["created"] + 1))
        expected[invoice["id"]] = final
    client = host_client(None)
    statuses = [
        client.post(URL, body, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature)
        for body, signature in stripe_standin.deliveries(
            events, WEBHOOK_SECRET, twice=True, shuffle=True
        )
    ]
    statuses = [answer.status_code for answer in statuses]
    assert set(statuses) == {200}
    assert StripeEvent.objects.count() == 40
    apply_all()
    assert dict(Invoice.objects.values_list("stripe_id", "status")) == expected


def test_an_event_for_an_unknown_customer_waits_until_the_customer_exists(
    stripe_standin, council_a
):
    invoice = stripe_standin.add_invoice("cus_not_yet")
    event = stripe_standin.event("invoice.finalized", invoice)
    signed(event)
    assert apply(event["id"]) == WAITING_FOR_CUSTOMER
    assert not Invoice.objects.exists()
    assert StripeEvent.objects.get().applied_at is None
    BillingAccount.objects.create(council=council_a, stripe_customer_id="cus_not_yet")
    assert apply(event["id"]) == f"invoice {invoice['id']} is open"


def test_subscription_events_in_any_order(stripe_standin, account):
    subscription = {"id": "sub_1", "object": "subscription", "customer": "cus_north"}
    updated = stripe_standin.event(
        "customer.subscription.updated", {**subscription, "status": "past_due"}
    )
    deleted = stripe_standin.event(
        "customer.subscription.deleted",
        {**subscription, "status": "canceled"},
        created=updated["created"] + 10,
    )
    older = stripe_standin.event(
        "customer.subscription.updated",
        {**subscription, "status": "active"},
        created=updated["created"] - 10,
    )
    for event in (deleted, updated, older):
        signed(event)
        apply(event["id"])
    account.refresh_from_db()
    assert account.subscription_status == "canceled"


def test_the_webhook_is_served_on_the_platform_host_only(stripe_standin, account, council_a):
    event = stripe_standin.event("invoice.finalized", stripe_standin.add_invoice("cus_north"))
    body = json.dumps(event).encode()
    answer = host_client(council_a).post(
        URL,
        body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign_payload(body, WEBHOOK_SECRET),
    )
    assert answer.status_code == 404
    assert not StripeEvent.objects.exists()


def test_a_failed_payment_then_overdue_then_void(stripe_standin, account):
    invoice = stripe_standin.add_invoice("cus_north")
    start = invoice["created"]
    events = [
        stripe_standin.event("invoice.finalized", invoice, created=start),
        stripe_standin.event("invoice.payment_failed", invoice, created=start + 1),
        stripe_standin.event("invoice.overdue", invoice, created=start + 2),
    ]
    for event in events:
        signed(event)
        apply(event["id"])
    stored = Invoice.objects.get()
    assert (stored.status, stored.payment_failed, stored.overdue) == ("open", True, True)
    voided = stripe_standin.event(
        "invoice.voided",
        stripe_standin.set_invoice_status(invoice["id"], "void"),
        created=start + 3,
    )
    signed(voided)
    assert apply(voided["id"]) == f"invoice {invoice['id']} is void"
    stored.refresh_from_db()
    assert (stored.status, stored.payment_failed, stored.overdue) == ("void", False, False)
