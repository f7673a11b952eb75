"""Settlement, as GOV.UK Pay reports it: a Stripe-backed service's payments carry the PSP fee
and, once paid out, their settled date; refunds the day they were taken from a payout. The
apply step keeps them, and moves each fee from card clearing to fees once, when its payout is
known. Other providers report neither."""

import datetime

import httpx
import pytest
from django.utils import timezone

from income.accounts import clearing_account, fund_account, system_account
from income.actions.govuk_pay.mop_up import mop_up
from income.actions.govuk_pay.payments import BasketItem, apply_payment_resource
from income.actions.govuk_pay.settlement import apply_refund_settlement
from income.balances import account_balance, receipt_allocation
from income.govuk_pay.client import GovukPayClient
from income.models import (
    AccountKind,
    GovukPayRefund,
    Journal,
    JournalKind,
    Posting,
    WebhookOutcome,
)
from tenants.audit.models import AuditEvent
from tests.fixtures.govuk_pay import validate_schema
from tests.income.govuk_pay.conftest import send_refund, take_card_payment

# Today: a payout is never dated before the payments it pays out were captured.
PAYOUT_DAY = timezone.localdate().isoformat()


def payout(standin, api_key: str, settled_date: str = PAYOUT_DAY) -> httpx.Response:
    """Stripe pays the service's balance out, as the demo asks it to: over HTTP."""
    return httpx.post(
        f"{standin.url}/_standin/payouts",
        json={"api_key": api_key, "settled_date": settled_date},
        timeout=5,
    )


def fees_balance() -> int:
    return account_balance(system_account(AccountKind.FEES))


@pytest.fixture
def stripe_payment(stripe_council, standin):
    payment = take_card_payment(
        stripe_council["council"],
        [BasketItem(stripe_council["council_tax"], "CT1", 12_345)],
        standin,
    )
    return {**stripe_council, "payment": payment}


def test_a_stripe_backed_payment_carries_its_fee_and_net_amount_as_the_spec_describes(
    stripe_payment, standin
):
    payment = stripe_payment["payment"]
    with GovukPayClient(stripe_payment["api_key"], base_url=standin.url) as client:
        resource = client.get_payment(payment.payment_id)
    validate_schema(resource, "PaymentWithAllLinks")
    assert resource["payment_provider"] == "stripe"
    # 0.2% of £123.45 is 24.69p, rounded to 25p, and 2p a payment.
    assert (resource["fee"], resource["net_amount"]) == (27, 12_345 - 27)
    assert "settled_date" not in resource["settlement_summary"]

    assert payment.status == "success" and payment.fee_pence == 27
    # Not paid out yet: the fee is known, but has not left the clearing account.
    assert payment.settled_on is None and payment.fee_journal is None
    assert fees_balance() == 0
    assert account_balance(clearing_account(payment.receipt.channel)) == 12_345


def test_the_fee_moves_from_card_clearing_to_fees_when_the_payout_is_known(stripe_payment, standin):
    payment = stripe_payment["payment"]
    answer = payout(standin, stripe_payment["api_key"])
    assert answer.status_code == 200
    assert answer.json() == {
        "settled_date": PAYOUT_DAY, "payments": 1, "refunds": 0, "fees": 27, "amount": 12_318,
    }  # fmt: skip

    assert mop_up(connection=stripe_payment["connection"]).applied == 1
    payment.refresh_from_db()
    assert str(payment.settled_on) == PAYOUT_DAY
    journal = payment.fee_journal
    assert journal.kind == JournalKind.PROVIDER_FEE
    assert f"taken from the payout of {timezone.localdate():%-d %b %Y}" in journal.description
    receipt = payment.receipt
    assert fees_balance() == 27
    assert account_balance(clearing_account(receipt.channel)) == 12_318
    # The payer paid £123.45 and the fund holds it all: the fee is the council's cost.
    assert receipt.amount_pence == 12_345
    assert receipt_allocation(receipt) == {stripe_payment["council_tax"].pk: 12_345}
    assert account_balance(fund_account(stripe_payment["council_tax"])) == -12_345
    assert set(journal.postings.values_list("receipt_id", flat=True)) == {receipt.pk}
    # Recorded when the fee was first reported (at capture), and again at the payout.
    captured, settled = AuditEvent.objects.filter(action="govuk_pay.payment_settlement").order_by(
        "pk"
    )
    assert captured.after == {"settled_on": None, "fee_pence": 27, "fee_journal": None}
    assert settled.after == {"settled_on": PAYOUT_DAY, "fee_pence": 27, "fee_journal": journal.pk}


def test_applying_the_same_payment_resource_twice_changes_nothing(stripe_payment, standin):
    payment = stripe_payment["payment"]
    connection = stripe_payment["connection"]
    payout(standin, stripe_payment["api_key"])
    with GovukPayClient(stripe_payment["api_key"], base_url=standin.url) as client:
        resource = client.get_payment(payment.payment_id)

    assert apply_payment_resource(connection=connection, resource=resource) == "applied"
    counts = (Journal.objects.count(), Posting.objects.count(), AuditEvent.objects.count())
    assert apply_payment_resource(connection=connection, resource=resource) == "unchanged"
    assert mop_up(connection=connection).applied == 0
    assert (Journal.objects.count(), Posting.objects.count(), AuditEvent.objects.count()) == counts
    assert Journal.objects.filter(kind=JournalKind.PROVIDER_FEE).count() == 1
    assert fees_balance() == 27


def test_an_older_message_without_the_settlement_takes_nothing_back(stripe_payment, standin):
    """Webhooks arrive in any order: the captured message, sent before the payout, comes
    after it and must not undo the settled date or the fee journal."""
    payment = stripe_payment["payment"]
    connection = stripe_payment["connection"]
    with GovukPayClient(stripe_payment["api_key"], base_url=standin.url) as client:
        captured = client.get_payment(payment.payment_id)
        payout(standin, stripe_payment["api_key"])
        settled = client.get_payment(payment.payment_id)
    apply_payment_resource(connection=connection, resource=settled)

    assert apply_payment_resource(connection=connection, resource=captured) == "unchanged"
    payment.refresh_from_db()
    assert str(payment.settled_on) == PAYOUT_DAY and payment.fee_journal_id is not None
    assert fees_balance() == 27


def test_a_corrected_fee_reverses_the_journal_of_the_old_one(stripe_payment, standin):
    payment = stripe_payment["payment"]
    connection = stripe_payment["connection"]
    payout(standin, stripe_payment["api_key"])
    with GovukPayClient(stripe_payment["api_key"], base_url=standin.url) as client:
        resource = client.get_payment(payment.payment_id)
    apply_payment_resource(connection=connection, resource=resource)
    payment.refresh_from_db()
    first = payment.fee_journal

    corrected = {**resource, "fee": 30, "net_amount": 12_315}
    assert apply_payment_resource(connection=connection, resource=corrected) == "applied"
    payment.refresh_from_db()
    assert payment.fee_pence == 30 and payment.fee_journal != first
    reversal = Journal.objects.get(reverses=first)
    # Both on the payout's day, whose fees now come to the corrected one.
    assert {p.booked_on for p in reversal.postings.all()} == {payment.settled_on}
    assert {p.booked_on for p in payment.fee_journal.postings.all()} == {payment.settled_on}
    assert fees_balance() == 30
    assert account_balance(clearing_account(payment.receipt.channel)) == 12_315
    # A fee GOV.UK Pay could not have charged is not believed.
    for impossible in (-1, 12_346, "30", True):
        assert (
            apply_payment_resource(connection=connection, resource={**resource, "fee": impossible})
            == WebhookOutcome.UNCHANGED
        )
    payment.refresh_from_db()
    assert payment.fee_pence == 30


def test_a_refund_taken_from_a_payout_gets_its_settled_date(
    stripe_payment, standin, officer, manager
):
    payment = stripe_payment["payment"]
    card_refund = send_refund(stripe_payment, payment.receipt, 2_000, officer, manager)
    card_refund.refresh_from_db()
    assert card_refund.settled_on is None

    paid = payout(standin, stripe_payment["api_key"]).json()
    assert (paid["payments"], paid["refunds"], paid["amount"]) == (1, 1, 12_318 - 2_000)
    mop_up(connection=stripe_payment["connection"])
    card_refund.refresh_from_db()
    assert str(card_refund.settled_on) == PAYOUT_DAY
    assert AuditEvent.objects.filter(action="govuk_pay.refund_settled").count() == 1

    # Again, from the refund search: nothing new.
    with GovukPayClient(stripe_payment["api_key"], base_url=standin.url) as client:
        found = list(client.search_refunds(from_settled_date=PAYOUT_DAY))
    validate_schema(found[0], "RefundDetailForSearch")
    assert found[0]["settlement_summary"]["settled_date"] == PAYOUT_DAY
    assert not apply_refund_settlement(connection=stripe_payment["connection"], resource=found[0])
    assert mop_up(connection=stripe_payment["connection"]).applied == 0
    assert AuditEvent.objects.filter(action="govuk_pay.refund_settled").count() == 1


def test_the_mop_up_finds_payouts_of_payments_older_than_its_created_date_lookback(
    stripe_payment, standin
):
    """Payouts come days after the payment; GOV.UK Pay sends no webhook for them. The mop-up
    finds them by settled date, not by when the payment was made."""
    payment = stripe_payment["payment"]
    payout(standin, stripe_payment["api_key"], timezone.now().date().isoformat())
    # A created-date search that would not reach the payment: the settled search does.
    summary = mop_up(
        connection=stripe_payment["connection"], lookback=datetime.timedelta(seconds=0)
    )
    assert summary.problems == []
    payment.refresh_from_db()
    assert payment.settled_on == timezone.now().date() and payment.fee_journal_id is not None


def captured_days_ago(stripe_council, standin, days: int, reference: str, amount: int = 5_000):
    """A payment the stand-in captured `days` ago (its clock moved back for it)."""
    day = timezone.localdate() - datetime.timedelta(days=days)
    standin.travel_to(datetime.datetime.combine(day, datetime.time(12), tzinfo=datetime.UTC))
    try:
        payment = take_card_payment(
            stripe_council["council"],
            [BasketItem(stripe_council["council_tax"], reference, amount)],
            standin,
        )
    finally:
        standin.travel_to(None)
    assert payment.captured_on == day
    return payment


def test_the_mop_up_finds_a_payout_settled_more_than_a_week_before_it_looks(
    stripe_council, standin
):
    """The settled search starts from the oldest capture still waiting for its payout, so a
    payout the mop-up did not see for a fortnight is found; only the cap stops it."""
    payment = captured_days_ago(stripe_council, standin, 20, "CT20")
    settled = timezone.localdate() - datetime.timedelta(days=15)
    payout(standin, stripe_council["api_key"], settled.isoformat())
    connection = stripe_council["connection"]

    mop_up(connection=connection, settled_lookback=datetime.timedelta(days=10))
    payment.refresh_from_db()
    assert payment.settled_on is None  # beyond the cap

    assert mop_up(connection=connection).problems == []
    payment.refresh_from_db()
    assert payment.settled_on == settled and payment.fee_journal_id is not None


def test_the_fee_is_booked_on_the_day_of_its_payout(stripe_council, standin):
    payment = captured_days_ago(stripe_council, standin, 5, "CT5")
    settled = timezone.localdate() - datetime.timedelta(days=3)
    payout(standin, stripe_council["api_key"], settled.isoformat())
    mop_up(connection=stripe_council["connection"])
    payment.refresh_from_db()

    fee_postings = payment.fee_journal.postings.all()
    assert sorted(p.amount_pence for p in fee_postings) == [-12, 12]
    assert {p.booked_on for p in fee_postings} == {settled}
    # The receipt itself stays booked on the day the payment was captured.
    assert {p.booked_on for p in payment.receipt.journal.postings.all()} == {payment.captured_on}


def test_the_mop_up_finds_a_refund_taken_from_a_payout_more_than_a_week_ago(
    stripe_council, standin, officer, manager
):
    payment = captured_days_ago(stripe_council, standin, 20, "CT21")
    card_refund = send_refund(stripe_council, payment.receipt, 1_000, officer, manager)
    # As if it had been made 19 days ago, when the mop-up last looked.
    made = timezone.now() - datetime.timedelta(days=19)
    GovukPayRefund.objects.filter(pk=card_refund.pk).update(created_at=made)
    settled = timezone.localdate() - datetime.timedelta(days=15)
    assert payout(standin, stripe_council["api_key"], settled.isoformat()).json()["refunds"] == 1

    assert mop_up(connection=stripe_council["connection"]).problems == []
    card_refund.refresh_from_db()
    assert card_refund.settled_on == settled


def test_a_service_that_is_not_stripe_backed_reports_no_fee_and_is_never_paid_out(
    paying_council, standin, spec
):
    payment = take_card_payment(
        paying_council["council"],
        [BasketItem(paying_council["council_tax"], "CT2", 5_000)],
        standin,
    )
    assert payment.fee_pence is None
    refused = payout(standin, paying_council["api_key"])
    assert refused.status_code == 400 and "Stripe" in refused.json()["description"]
    with GovukPayClient(paying_council["api_key"], base_url=standin.url) as client:
        resource = client.get_payment(payment.payment_id)
        assert list(client.search_payments(from_settled_date="2000-01-01")) == []
    assert "fee" not in resource and "net_amount" not in resource
    assert mop_up(connection=paying_council["connection"]).problems == []
    payment.refresh_from_db()
    assert (payment.fee_pence, payment.settled_on, payment.fee_journal_id) == (None, None, None)
    assert fees_balance() == 0
    # Nothing of this service waits for a payout, so GOV.UK Pay is not asked about any.
    assert [path for _method, path, _status in spec.checked if path == "/v1/refunds"] == []


def test_the_stand_in_refuses_a_settled_date_that_is_not_a_date(stripe_council, standin):
    assert payout(standin, stripe_council["api_key"], "3 Dec 2026").status_code == 400
    response = httpx.get(
        f"{standin.url}/v1/payments",
        params={"from_settled_date": "yesterday"},
        headers={"Authorization": f"Bearer {stripe_council['api_key']}"},
    )
    assert response.status_code == 422


def test_the_stand_in_pays_out_every_stripe_backed_service_when_given_no_key(
    stripe_payment, standin
):
    """As the README's demo path does it: the demo's API keys are not shown anywhere."""
    answer = httpx.post(
        f"{standin.url}/_standin/payouts", json={"settled_date": PAYOUT_DAY}, timeout=5
    )
    assert answer.status_code == 200
    assert {"settled_date": PAYOUT_DAY, "payments": 1, "refunds": 0, "fees": 27,
            "amount": 12_318} in answer.json()["payouts"]  # fmt: skip
    assert (
        standin.payment(stripe_payment["payment"].payment_id)["settlement_summary"]["settled_date"]
        == PAYOUT_DAY
    )


def test_the_receipt_and_settings_pages_show_the_fee_and_the_payout(stripe_payment, standin, admin):
    from tests.conftest import host_client, sign_in

    payment = stripe_payment["payment"]
    payout(standin, stripe_payment["api_key"])
    mop_up(connection=stripe_payment["connection"])
    client = sign_in(host_client(stripe_payment["council"]), admin)
    receipt_page = client.get(f"/receipts/{payment.receipt.number}/").content.decode()
    assert f"settled {timezone.localdate():%-d %B %Y}, provider fee £0.27" in receipt_page
    assert "GOV.UK Pay provider fee on" in receipt_page  # the fee journal, in its history
    settings_page = client.get("/govuk-pay/settings/").content.decode()
    assert "£0.27" in settings_page.split("Recent payments", 1)[1].split("</table>", 1)[0]


def test_a_webhook_brings_the_fee_as_the_return_visit_does(stripe_council, standin):
    """Webhook, return visit and mop-up share one apply step: a signed webhook through the
    council's endpoint stores the fee too."""
    import json

    from income.actions.govuk_pay.payments import start_payment
    from income.govuk_pay.signature import sign
    from income.models import GovukPayPayment, PaymentOrigin
    from tests.conftest import host_client
    from tests.income.govuk_pay.test_govuk_pay_webhooks import WEBHOOK_PATH, apply_pending

    payment = start_payment(
        council=stripe_council["council"],
        items=[BasketItem(stripe_council["council_tax"], "CT9", 5_000)],
        origin=PaymentOrigin.PORTAL,
        return_url=lambda token: f"https://pay.example/pay/return/{token}/",
        acting_user=None,
    )
    standin.complete(payment.payment_id)
    body = standin.webhook_body(
        stripe_council["api_key"], payment.payment_id, "card_payment_captured"
    )
    validate_schema(json.loads(body)["resource"], "PaymentWithAllLinks")
    answer = host_client(stripe_council["council"]).post(
        WEBHOOK_PATH,
        data=body,
        content_type="application/json",
        HTTP_PAY_SIGNATURE=sign(body, stripe_council["webhook_secret"]),
    )
    assert answer.status_code == 200
    assert apply_pending() == ["applied"]
    payment = GovukPayPayment.objects.get(pk=payment.pk)
    assert (payment.status, payment.fee_pence, payment.settled_on) == ("success", 12, None)
