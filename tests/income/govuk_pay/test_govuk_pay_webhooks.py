"""The webhook endpoint: signature, inbox, replay, strangers' payments, order and concurrency.

Messages come from the stand-in (as GOV.UK Pay would send them) and go through the council's
real endpoint; the inbox is then applied as the worker would (`apply_webhook_message`)."""

import json

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from income.actions.govuk_pay.payments import BasketItem, start_payment
from income.actions.govuk_pay.webhooks import apply_webhook_message
from income.defaults import seed_income_defaults
from income.govuk_pay.signature import sign
from income.models import (
    GovukPayPayment,
    GovukPayWebhookMessage,
    PaymentOrigin,
    Posting,
    Receipt,
    WebhookOutcome,
)
from tenants.actions.councils import create_council
from tenants.council_directory import council_directory
from tenants.models.council import CouncilStatus
from tests.concurrency import run_at_once
from tests.conftest import host_client
from tests.income.govuk_pay.conftest import connect, public_funds

WEBHOOK_PATH = "/govuk-pay/webhook/"


def pay(council, items, standin, *, complete: bool = True) -> GovukPayPayment:
    payment = start_payment(
        council=council,
        items=items,
        origin=PaymentOrigin.PORTAL,
        return_url=lambda token: f"https://pay.example/pay/return/{token}/",
        acting_user=None,
    )
    if complete:
        standin.complete(payment.payment_id)
    return payment


def post(council, body: bytes, signature: str):
    return host_client(council).post(
        WEBHOOK_PATH, data=body, content_type="application/json", HTTP_PAY_SIGNATURE=signature
    )


def apply_pending() -> list[str]:
    pending = GovukPayWebhookMessage.objects.filter(outcome=WebhookOutcome.PENDING).order_by("pk")
    return [apply_webhook_message(message_pk=pk) for pk in pending.values_list("pk", flat=True)]


@pytest.fixture
def paid(paying_council, standin):
    council = paying_council["council"]
    payment = pay(
        council,
        [
            BasketItem(paying_council["council_tax"], "CT1234", 10_000),
            BasketItem(paying_council["parking"], "PN9876", 2_550),
        ],
        standin,
    )
    body = standin.webhook_body(
        paying_council["api_key"], payment.payment_id, "card_payment_succeeded"
    )
    return {**paying_council, "payment": payment, "body": body}


def test_a_signed_webhook_is_stored_answered_and_applied_once(paid):
    council, body, secret = paid["council"], paid["body"], paid["webhook_secret"]
    response = post(council, body, sign(body, secret))

    assert response.status_code == 200
    assert apply_pending() == [WebhookOutcome.APPLIED]
    payment = GovukPayPayment.objects.get(pk=paid["payment"].pk)
    assert payment.status == "success"
    receipt = payment.receipt
    assert receipt.amount_pence == 12_550
    assert receipt.idempotency_key == f"govukpay:{payment.payment_id}"
    assert receipt.channel.code == "CARD"
    credits = {
        p.account.code: p.amount_pence
        for p in Posting.objects.filter(receipt=receipt, amount_pence__lt=0)
    }
    assert credits == {"FUND-CTAX": -10_000, "FUND-PARK": -2_550}
    assert payment.captured_on is not None


def test_card_and_cardholder_data_are_dropped_before_storing(paid):
    raw = json.loads(paid["body"])
    assert raw["resource"]["card_details"]["cardholder_name"]  # GOV.UK Pay sends it…
    post(paid["council"], paid["body"], sign(paid["body"], paid["webhook_secret"]))
    stored = GovukPayWebhookMessage.objects.get().body
    # …and we never keep it.
    assert "card_details" not in stored["resource"]
    text = json.dumps(stored)
    for secret_bit in ("Sam Payer", "444433", "1 Test Street", "NB1 1AA"):
        assert secret_bit not in text


def test_a_wrong_signature_is_refused_and_nothing_is_stored(paid):
    response = post(paid["council"], paid["body"], sign(paid["body"], "not-the-secret"))
    assert response.status_code == 401
    assert not GovukPayWebhookMessage.objects.exists()


def test_a_missing_signature_is_refused(paid):
    response = host_client(paid["council"]).post(
        WEBHOOK_PATH, data=paid["body"], content_type="application/json"
    )
    assert response.status_code == 401
    assert not GovukPayWebhookMessage.objects.exists()


def test_a_body_altered_by_one_byte_is_refused(paid):
    signature = sign(paid["body"], paid["webhook_secret"])
    altered = paid["body"].replace(b'"amount": 12550', b'"amount": 12551')
    assert altered != paid["body"] and len(altered) == len(paid["body"])
    assert post(paid["council"], altered, signature).status_code == 401
    assert not GovukPayWebhookMessage.objects.exists()


def test_another_councils_secret_is_refused(paid, other_council):
    body = paid["body"]
    response = post(paid["council"], body, sign(body, other_council["webhook_secret"]))
    assert response.status_code == 401
    assert not GovukPayWebhookMessage.objects.exists()


def test_a_replayed_message_changes_nothing(paid):
    council, body, secret = paid["council"], paid["body"], paid["webhook_secret"]
    assert post(council, body, sign(body, secret)).status_code == 200
    apply_pending()
    for _ in range(3):
        assert post(council, body, sign(body, secret)).status_code == 200
    assert apply_pending() == []
    assert GovukPayWebhookMessage.objects.count() == 1
    assert Receipt.objects.count() == 1


def test_the_same_payment_in_new_messages_makes_one_receipt(paid, standin):
    council, secret = paid["council"], paid["webhook_secret"]
    for event in ("card_payment_succeeded", "card_payment_captured", "card_payment_succeeded"):
        body = standin.webhook_body(paid["api_key"], paid["payment"].payment_id, event)
        assert post(council, body, sign(body, secret)).status_code == 200
    assert apply_pending() == [
        WebhookOutcome.APPLIED,
        WebhookOutcome.UNCHANGED,
        WebhookOutcome.UNCHANGED,
    ]
    assert Receipt.objects.count() == 1


def test_an_unknown_payment_is_ignored(paid):
    message = json.loads(paid["body"])
    message["resource_id"] = message["resource"]["payment_id"] = "unknownpayment000000000000"
    message["resource"]["reference"] = "WEB-9999999"
    body = json.dumps(message).encode()
    assert post(paid["council"], body, sign(body, paid["webhook_secret"])).status_code == 200
    assert apply_pending() == [WebhookOutcome.UNKNOWN_PAYMENT]
    assert not Receipt.objects.exists()
    assert GovukPayPayment.objects.get().status != "success"


def test_an_event_for_another_councils_payment_is_ignored(paid, other_council, standin):
    # Council B's own payment, succeeded at GOV.UK Pay…
    with schema_context(other_council["council"].schema_name):
        theirs = pay(
            other_council["council"],
            [BasketItem(other_council["council_tax"], "CT5555", 4_000)],
            standin,
        )
    body = standin.webhook_body(
        other_council["api_key"], theirs.payment_id, "card_payment_succeeded"
    )
    # …sent to council A, signed with A's secret (as a confused or hostile sender might).
    assert post(paid["council"], body, sign(body, paid["webhook_secret"])).status_code == 200
    assert apply_pending() == [WebhookOutcome.UNKNOWN_PAYMENT]
    assert not Receipt.objects.exists()
    with schema_context(other_council["council"].schema_name):
        assert not Receipt.objects.exists()
        assert GovukPayPayment.objects.get().status == "created"
    connection.set_schema_to_public()


def test_out_of_order_messages_end_in_the_right_state(paying_council, standin):
    council, api_key, secret = (
        paying_council["council"],
        paying_council["api_key"],
        paying_council["webhook_secret"],
    )
    payment = pay(
        council, [BasketItem(paying_council["council_tax"], "CT1", 5_000)], standin, complete=False
    )
    standin_payment_id = payment.payment_id
    started = standin.webhook_body(api_key, standin_payment_id, "card_payment_started")
    standin.complete(standin_payment_id)
    captured = standin.webhook_body(api_key, standin_payment_id, "card_payment_captured")
    # Captured arrives first, started (older) after it.
    for body in (captured, started):
        assert post(council, body, sign(body, secret)).status_code == 200
    assert apply_pending() == [WebhookOutcome.APPLIED, WebhookOutcome.UNCHANGED]
    payment.refresh_from_db()
    assert payment.status == "success" and payment.receipt is not None


def test_a_failed_payment_records_nothing(paying_council, standin):
    council = paying_council["council"]
    payment = pay(
        council, [BasketItem(paying_council["council_tax"], "CT1", 5_000)], standin, complete=False
    )
    standin.complete(payment.payment_id, card_number="4000000000000002")
    body = standin.webhook_body(
        paying_council["api_key"], payment.payment_id, "card_payment_failed"
    )
    post(council, body, sign(body, paying_council["webhook_secret"]))
    assert apply_pending() == [WebhookOutcome.APPLIED]
    payment.refresh_from_db()
    assert (payment.status, payment.failure_code) == ("failed", "P0010")
    assert not Receipt.objects.exists()


def test_malformed_signed_bodies_are_refused(paying_council):
    for body in (b"not json", b"[]", b'{"webhook_message_id": "x"}'):
        signature = sign(body, paying_council["webhook_secret"])
        assert post(paying_council["council"], body, signature).status_code == 400
    assert not GovukPayWebhookMessage.objects.exists()


def test_only_post_is_answered(paying_council):
    assert host_client(paying_council["council"]).get(WEBHOOK_PATH).status_code == 405


COPIES = 50


@pytest.fixture
def committed_paying_council(django_db_setup, django_db_blocker, standin):
    with django_db_blocker.unblock():
        council = create_council(name="Webhook Rush Council", slug="webhook-rush", acting_user=None)
        try:
            with schema_context(council.schema_name):
                seed_income_defaults()
                api_key, secret = connect(council, standin)
                council_tax, _parking = public_funds()
                payment = pay(council, [BasketItem(council_tax, "CT777", 7_700)], standin)
            yield council, api_key, secret, payment
        finally:
            connection.set_schema_to_public()
            council.delete(force_drop=True)


def test_fifty_copies_at_once_make_one_receipt(committed_paying_council, standin):
    council, api_key, secret, payment = committed_paying_council
    with schema_context(council.schema_name):
        same = standin.webhook_body(api_key, payment.payment_id, "card_payment_succeeded")
    # Half are one message redelivered; half are distinct messages about the same payment.
    bodies = [same] * (COPIES // 2) + [
        standin.webhook_body(api_key, payment.payment_id, "card_payment_captured")
        for _ in range(COPIES - COPIES // 2)
    ]

    def deliver(ready, body: bytes) -> int:
        ready()
        return post(council, body, sign(body, secret)).status_code

    statuses = run_at_once(deliver, [(body,) for body in bodies])
    assert statuses == [200] * COPIES

    with schema_context(council.schema_name):
        pending = list(GovukPayWebhookMessage.objects.values_list("pk", flat=True))
    assert len(pending) == 1 + COPIES - COPIES // 2

    def apply(ready, pk: int) -> None:
        with schema_context(council.schema_name):
            ready()
            apply_webhook_message(message_pk=pk)

    run_at_once(apply, [(pk,) for pk in pending])
    with schema_context(council.schema_name):
        assert Receipt.objects.count() == 1
        assert Receipt.objects.get().amount_pence == 7_700
        assert not GovukPayWebhookMessage.objects.filter(outcome=WebhookOutcome.PENDING).exists()


@pytest.mark.worker
def test_a_webhook_is_applied_by_the_worker(
    committed_paying_council, standin, celery_worker_process
):
    from tests.waiting import wait_for

    council, api_key, secret, payment = committed_paying_council
    body = standin.webhook_body(api_key, payment.payment_id, "card_payment_captured")
    assert post(council, body, sign(body, secret)).status_code == 200

    def receipted() -> bool:
        with schema_context(council.schema_name):
            return Receipt.objects.filter(amount_pence=7_700).exists()

    wait_for(receipted, timeout=60)
    with schema_context(council.schema_name):
        assert GovukPayWebhookMessage.objects.get().outcome == WebhookOutcome.APPLIED
        assert GovukPayPayment.objects.get().status == "success"


def test_the_stand_ins_webhook_resource_is_a_payment_as_the_spec_describes(paid):
    from tests.fixtures.govuk_pay import validate_schema

    message = json.loads(paid["body"])
    validate_schema(message["resource"], "PaymentWithAllLinks")
    broken = {**message["resource"], "amount": "12550"}
    with pytest.raises(Exception, match="is not of type 'integer'"):
        validate_schema(broken, "PaymentWithAllLinks")


def test_a_suspended_councils_webhooks_are_still_taken_and_applied(paid):
    # A suspension stops staff changes and new payments, not the recording of money that
    # citizens have already paid.
    council = paid["council"]
    council.status = CouncilStatus.SUSPENDED
    council.save(update_fields=["status"])
    council_directory.forget()

    response = post(council, paid["body"], sign(paid["body"], paid["webhook_secret"]))

    assert response.status_code == 200
    assert apply_pending() == [WebhookOutcome.APPLIED]
    assert GovukPayPayment.objects.get(pk=paid["payment"].pk).receipt.amount_pence == 12_550


def test_the_receipt_page_names_its_gov_uk_pay_payment(paid, admin):
    council = paid["council"]
    post(council, paid["body"], sign(paid["body"], paid["webhook_secret"]))
    apply_pending()
    payment = GovukPayPayment.objects.get(pk=paid["payment"].pk)
    client = host_client(council)
    client.force_login(admin)

    page = client.get(f"/receipts/{payment.receipt.number}/").content.decode()

    assert "GOV.UK Pay payment" in page and payment.payment_id in page


def test_a_signed_body_nested_too_deep_is_refused_and_stores_nothing(paid):
    # Security finding 11: a deeply nested signed body gave HTTP 500 (the parser recursed).
    council, secret = paid["council"], paid["webhook_secret"]
    deep = b'{"webhook_message_id": "m1", "resource": ' + b"[" * 5000 + b"]" * 5000 + b"}"

    response = post(council, deep, sign(deep, secret))

    assert response.status_code == 400
    assert not GovukPayWebhookMessage.objects.exists()
    # Brackets inside strings are not nesting, and a genuine message still goes through.
    assert post(council, paid["body"], sign(paid["body"], secret)).status_code == 200
    assert apply_pending() == [WebhookOutcome.APPLIED]
