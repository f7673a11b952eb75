"""Event notifications sent to a real local HTTP endpoint: signed, recorded, retried with
backoff for 3 days, never following a redirect; an endpoint failing for a day is paused and
its admins emailed."""

import datetime
import json
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from income.actions.receipts import Allocation, record_receipt, reverse_receipt
from income.actions.suspense import allocate_from_suspense
from income.events import signing
from income.events.delivery import deliver_due, retry_delay
from income.models import DeliveryStatus, EventDelivery, OutboxEvent

pytestmark = pytest.mark.django_db


def take(channel, fund, pence=1_250, key="k1", reference="CT1234567"):
    return record_receipt(
        channel=channel,
        amount_pence=pence,
        received_on=datetime.date(2026, 11, 20),
        allocations=[Allocation(fund, pence)],
        idempotency_key=key,
        acting_user=None,
        payer_reference=reference,
    ).receipt


def test_a_receipt_is_announced_signed_and_the_receiver_can_verify_it(
    endpoint_for, receiver, cash, parking
):
    made = endpoint_for("/ok")
    receipt = take(cash, parking, reference="PCN000123")

    assert deliver_due() == 1

    [request] = receiver.received
    body = json.loads(request.body)
    assert body["type"] == "receipt.created"
    assert body["data"]["receipt"]["number"] == receipt.number
    assert body["data"]["receipt"]["amount_pence"] == 1_250
    assert body["data"]["receipt"]["allocations"] == [
        {"fund": "PARK", "reference": "PCN000123", "amount_pence": 1_250}
    ]
    assert request.headers["counterfoil-event-id"] == body["id"]
    # What a receiver does with the secret it was shown once.
    signing.verify(made.secret, request.body, request.headers["counterfoil-signature"])
    with pytest.raises(signing.SignatureRefused, match="does not match"):
        signing.verify("whsec_wrong", request.body, request.headers["counterfoil-signature"])
    with pytest.raises(signing.SignatureRefused, match="does not match"):
        signing.verify(made.secret, request.body + b" ", request.headers["counterfoil-signature"])
    delivery = EventDelivery.objects.get()
    assert delivery.status == DeliveryStatus.DELIVERED
    [attempt] = delivery.tries.all()
    assert attempt.succeeded and attempt.status_code == 200


def test_an_old_signature_is_refused_by_the_receiver_check():
    body = b'{"id":"x"}'
    header = signing.signature_header("whsec_s", body, timestamp=1_700_000_000)
    with pytest.raises(signing.SignatureRefused, match="outside the tolerance"):
        signing.verify("whsec_s", body, header, now=1_700_000_000 + 301)
    assert signing.verify("whsec_s", body, header, now=1_700_000_000 + 299) == 1_700_000_000


def test_only_subscribed_events_are_written_and_nothing_without_endpoints(
    endpoint_for, cash, parking
):
    take(cash, parking, key="before")
    assert not OutboxEvent.objects.exists()  # no endpoint: no outbox rows at all
    endpoint_for("/ok", events=["receipt.reversed"])
    receipt = take(cash, parking, key="after")
    assert not OutboxEvent.objects.exists()
    reverse_receipt(council=None, receipt=receipt, reason="Cheque bounced", acting_user=None)
    [event] = OutboxEvent.objects.all()
    assert event.event_type == "receipt.reversed"
    assert event.data["reason"] == "Cheque bounced"
    assert event.data["receipt"]["status"] == "reversed"


def test_suspense_allocation_is_announced(endpoint_for, cash, parking, council_a, officer):
    endpoint_for("/ok", events=["suspense.allocated"])
    receipt = take(cash, None, pence=900, key="s1")
    allocate_from_suspense(
        council=council_a,
        receipt=receipt,
        allocations=[Allocation(parking, 900, "PCN9")],
        note="Found it",
        acting_user=officer,
    )
    [event] = OutboxEvent.objects.all()
    assert event.data["allocations"] == [{"fund": "PARK", "reference": "PCN9", "amount_pence": 900}]


def test_a_500_is_recorded_and_retried_with_exponential_backoff(
    endpoint_for, receiver, cash, parking
):
    endpoint_for("/fail")
    take(cash, parking)
    before = timezone.now()
    deliver_due()
    delivery = EventDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.last_outcome == "500 Internal Server Error"
    assert before + timedelta(seconds=59) < delivery.next_attempt_at
    assert delivery.next_attempt_at < timezone.now() + timedelta(seconds=61)
    assert deliver_due() == 0  # not due yet
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 4, 10, 20)] == [
        60, 120, 240, 480, 21_600, 21_600
    ]  # fmt: skip


def test_a_redirect_is_not_followed(endpoint_for, receiver, cash, parking):
    endpoint_for("/redirect")
    take(cash, parking)
    deliver_due()
    assert [r.path for r in receiver.received] == ["/redirect"]  # never /ok
    [attempt] = EventDelivery.objects.get().tries.all()
    assert not attempt.succeeded
    assert attempt.outcome == (
        "302: redirected to /ok (redirects are not followed: register the address it redirects to)."
    )


def test_a_receiver_that_does_not_answer_in_time_is_a_failed_attempt(
    endpoint_for, receiver, cash, parking
):
    endpoint_for("/slow")
    take(cash, parking)
    deliver_due()
    [attempt] = EventDelivery.objects.get().tries.all()
    assert not attempt.succeeded and attempt.status_code is None
    assert attempt.outcome == "No answer within 0.5 seconds."


def test_nothing_is_sent_to_an_address_that_is_gone(endpoint_for, cash, parking):
    made = endpoint_for("/ok")
    made.endpoint.url = "http://127.0.0.1:9/ok"  # the discard port: nobody listens
    made.endpoint.save()
    take(cash, parking)
    deliver_due()
    assert EventDelivery.objects.get().last_outcome.startswith("Could not connect:")


def test_delivery_is_given_up_after_three_days(endpoint_for, receiver, cash, parking):
    endpoint_for("/fail")
    take(cash, parking)
    OutboxEvent.objects.update(created_at=timezone.now() - timedelta(days=3))
    deliver_due()
    delivery = EventDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.last_outcome == "Given up after 3 days: 500 Internal Server Error"


def test_an_endpoint_failing_for_a_day_is_paused_and_its_admins_emailed(
    endpoint_for, receiver, cash, parking, admin, django_capture_on_commit_callbacks
):
    made = endpoint_for("/fail")
    take(cash, parking, key="a")
    deliver_due()
    endpoint = made.endpoint
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None and endpoint.is_active
    endpoint.failing_since = timezone.now() - timedelta(hours=25)
    endpoint.save()
    EventDelivery.objects.update(next_attempt_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        deliver_due()
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert endpoint.paused_reason == "Paused: every delivery has failed for 25 hours."
    [message] = mail.outbox
    assert message.to == [admin.email]
    assert message.subject == f"Counterfoil: event notifications to {endpoint.url} are paused"
    # Paused: its events wait, unsent, and new ones are not written for it.
    EventDelivery.objects.update(next_attempt_at=timezone.now())
    assert deliver_due() == 0
    take(cash, parking, key="b")
    assert EventDelivery.objects.count() == 1


def test_a_success_clears_the_failing_clock(endpoint_for, receiver, cash, parking):
    made = endpoint_for("/ok")
    made.endpoint.failing_since = timezone.now() - timedelta(hours=5)
    made.endpoint.save()
    take(cash, parking)
    deliver_due()
    made.endpoint.refresh_from_db()
    assert made.endpoint.failing_since is None


def test_a_claimed_delivery_is_not_sent_by_another_worker_until_its_claim_runs_out(
    endpoint_for, receiver, cash, parking, settings
):
    from income.events.delivery import claim

    endpoint_for("/ok")
    take(cash, parking)
    assert len(claim(10)) == 1  # a worker took it, then died before sending
    assert claim(10) == []
    assert deliver_due() == 0
    EventDelivery.objects.update(next_attempt_at=timezone.now())  # the claim ran out
    assert deliver_due() == 1
    assert len(receiver.received) == 1


def test_the_worker_is_nudged_once_per_transaction_and_only_on_commit(
    endpoint_for, cash, parking, django_capture_on_commit_callbacks
):
    from income.events.outbox import _Nudge

    endpoint_for("/ok")
    with django_capture_on_commit_callbacks() as callbacks:
        take(cash, parking, key="one")
        take(cash, parking, key="two")
    assert [type(callback) for callback in callbacks] == [_Nudge]
