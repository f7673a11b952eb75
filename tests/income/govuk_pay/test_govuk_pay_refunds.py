"""Card refunds approved in Counterfoil go back through GOV.UK Pay with the compare-and-set
amount, and are followed to success or error; two approvals at once make one refund."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django_tenants.utils import schema_context

from income.accounts import clearing_account, fund_account, refunds_payable_account
from income.actions.govuk_pay.payments import BasketItem
from income.actions.govuk_pay.refunds import refresh_card_refund, send_card_refund
from income.actions.refunds import approve_refund, raise_refund
from income.balances import account_balance
from income.defaults import seed_income_defaults
from income.govuk_pay.client import GovukPayClient, GovukPayUnavailable
from income.models import (
    CardRefundStatus,
    GovukPayRefund,
    JournalKind,
    Refund,
    RefundStatus,
)
from tenants.actions.councils import create_council
from tenants.models import CouncilRole
from tests.concurrency import run_at_once
from tests.conftest import make_member
from tests.income.govuk_pay.conftest import connect, public_funds, take_card_payment


@pytest.fixture
def card_receipt(paying_council, standin):
    payment = take_card_payment(
        paying_council["council"],
        [BasketItem(paying_council["council_tax"], "CT1", 10_000)],
        standin,
    )
    return {**paying_council, "payment": payment, "receipt": payment.receipt}


def approved(council, receipt, fund, amount, officer, manager, captured):
    refund = raise_refund(
        council=council, receipt=receipt, fund=fund, amount_pence=amount,
        reason="Paid twice", acting_user=officer,
    )  # fmt: skip
    with captured(execute=False) as callbacks:
        approve_refund(council=council, refund=refund, acting_user=manager)
    # The send is queued for after the commit, not made inside the approval.
    assert len(callbacks) == 1
    return GovukPayRefund.objects.get(refund=refund)


def test_an_approved_card_refund_is_sent_and_followed_to_paid(
    card_receipt, officer, manager, standin, django_capture_on_commit_callbacks
):
    council, receipt, fund = (
        card_receipt["council"],
        card_receipt["receipt"],
        card_receipt["council_tax"],
    )
    card_refund = approved(
        council, receipt, fund, 2_500, officer, manager, django_capture_on_commit_callbacks
    )
    assert card_refund.status == CardRefundStatus.PENDING

    assert send_card_refund(card_refund_pk=card_refund.pk) == CardRefundStatus.SUCCESS
    at_standin = standin.payment(card_receipt["payment"].payment_id)
    assert [r["amount"] for r in at_standin["_refunds"]] == [2_500]
    assert at_standin["refund_summary"]["amount_available"] == 7_500
    card_refund.refresh_from_db()
    assert card_refund.govuk_refund_id == at_standin["_refunds"][0]["refund_id"]
    assert Refund.objects.get().status == RefundStatus.PAID
    # Out of the fund, through refunds payable, back out of the card clearing account.
    assert account_balance(fund_account(fund)) == -7_500
    assert account_balance(refunds_payable_account()) == 0
    assert account_balance(clearing_account(receipt.channel)) == 7_500
    # Sending again does nothing.
    assert send_card_refund(card_refund_pk=card_refund.pk) == CardRefundStatus.SUCCESS
    assert len(standin.payment(card_receipt["payment"].payment_id)["_refunds"]) == 1


def test_a_refund_gov_uk_pay_holds_as_submitted_is_followed_to_its_end(
    card_receipt, officer, manager, standin, django_capture_on_commit_callbacks
):
    standin.hold_refunds = True
    try:
        card_refund = approved(
            card_receipt["council"], card_receipt["receipt"], card_receipt["council_tax"],
            1_000, officer, manager, django_capture_on_commit_callbacks,
        )  # fmt: skip
        assert send_card_refund(card_refund_pk=card_refund.pk) == CardRefundStatus.SUBMITTED
        assert Refund.objects.get().status == RefundStatus.SENT
        assert refresh_card_refund(card_refund_pk=card_refund.pk) == CardRefundStatus.SUBMITTED
        standin.finish_refunds("success")
        assert refresh_card_refund(card_refund_pk=card_refund.pk) == CardRefundStatus.SUCCESS
        assert Refund.objects.get().status == RefundStatus.PAID
    finally:
        standin.hold_refunds = False


def test_a_refund_gov_uk_pay_fails_puts_the_money_back_in_the_fund(
    card_receipt, officer, manager, standin, django_capture_on_commit_callbacks
):
    fund = card_receipt["council_tax"]
    standin.hold_refunds = True
    try:
        card_refund = approved(
            card_receipt["council"], card_receipt["receipt"], fund, 1_000, officer, manager,
            django_capture_on_commit_callbacks,
        )  # fmt: skip
        send_card_refund(card_refund_pk=card_refund.pk)
        standin.finish_refunds("error")
        assert refresh_card_refund(card_refund_pk=card_refund.pk) == CardRefundStatus.ERROR
    finally:
        standin.hold_refunds = False
    assert Refund.objects.get().status == RefundStatus.FAILED
    assert account_balance(fund_account(fund)) == -10_000
    assert account_balance(refunds_payable_account()) == 0


def test_a_refund_made_elsewhere_meanwhile_stops_ours_by_compare_and_set(
    card_receipt, officer, manager, standin, django_capture_on_commit_callbacks
):
    payment = card_receipt["payment"]
    card_refund = approved(
        card_receipt["council"], card_receipt["receipt"], card_receipt["council_tax"], 4_000,
        officer, manager, django_capture_on_commit_callbacks,
    )  # fmt: skip
    # Someone refunds £30 in GOV.UK Pay's own admin tool before our refund is sent.
    with GovukPayClient(card_receipt["api_key"], base_url=standin.url) as client:
        client.create_refund(payment.payment_id, amount=3_000, refund_amount_available=10_000)

    assert send_card_refund(card_refund_pk=card_refund.pk) == CardRefundStatus.ERROR
    card_refund.refresh_from_db()
    assert "412" in card_refund.error
    assert [r["amount"] for r in standin.payment(payment.payment_id)["_refunds"]] == [3_000]
    assert Refund.objects.get().status == RefundStatus.FAILED
    assert account_balance(fund_account(card_receipt["council_tax"])) == -10_000


def test_a_refund_whose_answer_was_lost_is_found_not_sent_twice(
    card_receipt, officer, manager, standin, django_capture_on_commit_callbacks
):
    payment = card_receipt["payment"]
    card_refund = approved(
        card_receipt["council"], card_receipt["receipt"], card_receipt["council_tax"], 4_000,
        officer, manager, django_capture_on_commit_callbacks,
    )  # fmt: skip
    # Our earlier try reached GOV.UK Pay, but its answer never came back to us.
    with GovukPayClient(card_receipt["api_key"], base_url=standin.url) as client:
        lost = client.create_refund(
            payment.payment_id, amount=4_000, refund_amount_available=10_000
        )

    assert send_card_refund(card_refund_pk=card_refund.pk) == CardRefundStatus.SUCCESS
    card_refund.refresh_from_db()
    assert card_refund.govuk_refund_id == lost["refund_id"]
    assert len(standin.payment(payment.payment_id)["_refunds"]) == 1


def test_gov_uk_pay_down_leaves_the_refund_to_be_sent_later(
    card_receipt, officer, manager, standin, django_capture_on_commit_callbacks
):
    card_refund = approved(
        card_receipt["council"], card_receipt["receipt"], card_receipt["council_tax"], 1_000,
        officer, manager, django_capture_on_commit_callbacks,
    )  # fmt: skip
    standin.fail_next(2, 503)
    with pytest.raises(GovukPayUnavailable):
        send_card_refund(card_refund_pk=card_refund.pk)
    card_refund.refresh_from_db()
    assert card_refund.status == CardRefundStatus.PENDING
    assert Refund.objects.get().status == RefundStatus.APPROVED
    assert send_card_refund(card_refund_pk=card_refund.pk) == CardRefundStatus.SUCCESS


def test_refund_paid_journal_is_a_refund_paid_journal(
    card_receipt, officer, manager, django_capture_on_commit_callbacks
):
    card_refund = approved(
        card_receipt["council"], card_receipt["receipt"], card_receipt["council_tax"], 1_000,
        officer, manager, django_capture_on_commit_callbacks,
    )  # fmt: skip
    send_card_refund(card_refund_pk=card_refund.pk)
    kinds = list(
        card_receipt["receipt"].postings.values_list("journal__kind", flat=True).distinct()
    )
    assert set(kinds) == {JournalKind.RECEIPT, JournalKind.REFUND, JournalKind.REFUND_PAID}


@pytest.fixture
def committed_refund(django_db_setup, django_db_blocker, standin):
    with django_db_blocker.unblock():
        council = create_council(name="Refund Race Council", slug="refund-race", acting_user=None)
        try:
            with schema_context(council.schema_name):
                seed_income_defaults()
                connect(council, standin)
                council_tax, _parking = public_funds()
                payment = take_card_payment(
                    council, [BasketItem(council_tax, "CT9", 9_000)], standin
                )
                officer = make_member(council, CouncilRole.INCOME_OFFICER)
                managers = [make_member(council, CouncilRole.FINANCE_MANAGER) for _ in range(2)]
                refund = raise_refund(
                    council=council, receipt=payment.receipt, fund=council_tax,
                    amount_pence=9_000, reason="Overpaid", acting_user=officer,
                )  # fmt: skip
            yield council, payment, refund, managers
        finally:
            connection.set_schema_to_public()
            council.delete(force_drop=True)


def test_two_approvals_at_once_make_one_refund(committed_refund, standin):
    council, payment, refund, managers = committed_refund

    def approve(ready, manager) -> str:
        with schema_context(council.schema_name):
            ready()
            try:
                approve_refund(council=council, refund=refund, acting_user=manager)
            except ValidationError as refusal:
                return refusal.messages[0]
            return "approved"

    outcomes = run_at_once(approve, [(manager,) for manager in managers], timeout=30)
    assert sorted(outcomes) == ["This refund is already approved: to be paid.", "approved"]
    with schema_context(council.schema_name):
        card_refunds = list(GovukPayRefund.objects.all())
        assert len(card_refunds) == 1
        for card_refund in card_refunds:
            send_card_refund(card_refund_pk=card_refund.pk)
            send_card_refund(card_refund_pk=card_refund.pk)
    assert [r["amount"] for r in standin.payment(payment.payment_id)["_refunds"]] == [9_000]


def test_the_settings_page_lists_card_refunds_and_their_outcome(
    card_receipt, officer, manager, admin, standin, django_capture_on_commit_callbacks
):
    from tests.conftest import host_client
    from tests.factories import PASSWORD

    card_refund = approved(
        card_receipt["council"], card_receipt["receipt"], card_receipt["council_tax"], 1_000,
        officer, manager, django_capture_on_commit_callbacks,
    )  # fmt: skip
    send_card_refund(card_refund_pk=card_refund.pk)
    client = host_client(card_receipt["council"])
    client.login(email=admin.email, password=PASSWORD)
    page = client.get("/govuk-pay/settings/").content.decode()
    assert "Refunded by GOV.UK Pay" in page and card_receipt["receipt"].number in page
