"""Card refunds: queued with the refund's approval, sent to GOV.UK Pay by the worker, followed."""

import logging
from typing import Any

from django.db import transaction
from django.db.models import Sum

from income.accounts import clearing_account, refunds_payable_account
from income.actions.ledger import PostingLine, post_journal, reverse_journal
from income.events import outbox
from income.govuk_pay.client import (
    GovukPayError,
    GovukPayUnavailable,
    RefundAmountMismatch,
)
from income.govuk_pay.connections import client_for
from income.govuk_pay.resource_dates import date_from
from income.models import (
    CardRefundStatus,
    GovukPayPayment,
    GovukPayRefund,
    JournalKind,
    Refund,
    RefundStatus,
)
from tenants.audit.recording import record_audit
from tenants.council_task import send_on_commit
from tenants.models import User

logger = logging.getLogger(__name__)


def queue_card_refund(*, refund: Refund, acting_user: User | None) -> GovukPayRefund | None:
    """Called when a card refund is approved (in its transaction): if the receipt came through
    GOV.UK Pay, the refund is sent there once the approval commits."""
    payment = GovukPayPayment.objects.filter(receipt_id=refund.receipt_id).first()
    if payment is None or not payment.payment_id:
        return None
    card_refund, created = GovukPayRefund.objects.get_or_create(
        refund=refund, defaults={"payment": payment, "amount_pence": refund.amount_pence}
    )
    if created:
        record_audit(
            "govuk_pay.refund_queued",
            acting_user=acting_user,
            target=card_refund,
            after={"payment": payment.reference, "amount_pence": refund.amount_pence},
        )
        send_on_commit("income.govuk_pay_send_refund", card_refund.pk)
    return card_refund


def send_card_refund(*, card_refund_pk: int, acting_user: User | None = None) -> str:
    """Send an approved refund to GOV.UK Pay with the compare-and-set amount. Refunds of one
    payment are sent one at a time (the payment row is locked), and the amount we expect
    GOV.UK Pay still to hold is what the payment took less the refunds it has accepted from
    us: if GOV.UK Pay holds less, a refund we have not heard of exists (perhaps our own
    earlier try whose answer was lost), and it is found rather than sent again.

    Raises GovukPayUnavailable when GOV.UK Pay does not answer (the task retries)."""
    with transaction.atomic():
        card_refund = (
            GovukPayRefund.objects.select_for_update()
            .select_related("refund")
            .filter(pk=card_refund_pk)
            .first()
        )
        if card_refund is None or card_refund.status != CardRefundStatus.PENDING:
            return card_refund.status if card_refund else "missing"
        payment = (
            GovukPayPayment.objects.select_for_update()
            .select_related("connection")
            .get(pk=card_refund.payment_id)
        )
        accepted = (
            payment.refunds.filter(
                status__in=[CardRefundStatus.SUBMITTED, CardRefundStatus.SUCCESS]
            ).aggregate(total=Sum("amount_pence"))["total"]
            or 0
        )
        expected_available = payment.amount_pence - accepted
        card_refund.attempts += 1
        card_refund.save(update_fields=["attempts", "updated_at"])
        try:
            with client_for(payment.connection) as client:
                try:
                    answer = client.create_refund(
                        payment.payment_id,
                        amount=card_refund.amount_pence,
                        refund_amount_available=expected_available,
                    )
                except RefundAmountMismatch:
                    answer = _unrecorded_refund(client, payment, card_refund)
                    if answer is None:
                        raise
        except GovukPayUnavailable:
            raise  # the task tries again later; nothing was refunded or recorded
        except GovukPayError as error:
            _card_refund_failed(card_refund, str(error), acting_user=acting_user)
            return CardRefundStatus.ERROR
        card_refund.govuk_refund_id = answer["refund_id"]
        card_refund.status = CardRefundStatus.SUBMITTED
        card_refund.error = ""
        card_refund.save()
        Refund.objects.filter(pk=card_refund.refund_id).update(status=RefundStatus.SENT)
        record_audit(
            "govuk_pay.refund_sent",
            acting_user=acting_user,
            target=card_refund,
            after={"refund_id": answer["refund_id"], "status": answer.get("status")},
        )
        follow_refund_status(card_refund, answer, acting_user=acting_user)
    return card_refund.status


def _unrecorded_refund(client, payment: GovukPayPayment, card_refund: GovukPayRefund):
    known = set(
        GovukPayRefund.objects.exclude(govuk_refund_id=None).values_list(
            "govuk_refund_id", flat=True
        )
    )
    for candidate in client.payment_refunds(payment.payment_id):
        if candidate["refund_id"] not in known and candidate["amount"] == card_refund.amount_pence:
            return candidate
    return None


def refresh_card_refund(*, card_refund_pk: int, acting_user: User | None = None) -> str:
    """Ask GOV.UK Pay how a submitted refund went, and follow it to success or error."""
    with transaction.atomic():
        card_refund = (
            GovukPayRefund.objects.select_for_update()
            .select_related("payment__connection", "refund")
            .get(pk=card_refund_pk)
        )
        if card_refund.status != CardRefundStatus.SUBMITTED:
            return card_refund.status
        with client_for(card_refund.payment.connection) as client:
            answer = client.get_refund(card_refund.payment.payment_id, card_refund.govuk_refund_id)
        follow_refund_status(card_refund, answer, acting_user=acting_user)
    return card_refund.status


def follow_refund_status(
    card_refund: GovukPayRefund, answer: dict[str, Any], *, acting_user: User | None
) -> None:
    status = answer.get("status")
    settled = date_from((answer.get("settlement_summary") or {}).get("settled_date"))
    if settled and card_refund.settled_on != settled:
        card_refund.settled_on = settled
        card_refund.save(update_fields=["settled_on", "updated_at"])
    if status == "success":
        refund = card_refund.refund
        receipt = refund.receipt
        post_journal(
            kind=JournalKind.REFUND_PAID,
            description=f"Refund paid to the card by GOV.UK Pay on {receipt.number}",
            lines=[
                PostingLine(refunds_payable_account(), card_refund.amount_pence, receipt),
                PostingLine(clearing_account(receipt.channel), -card_refund.amount_pence, receipt),
            ],
            acting_user=acting_user,
        )
        card_refund.status = CardRefundStatus.SUCCESS
        card_refund.save(update_fields=["status", "updated_at"])
        Refund.objects.filter(pk=refund.pk).update(status=RefundStatus.PAID)
        record_audit("govuk_pay.refund_succeeded", acting_user=acting_user, target=card_refund)
        outbox.refund_paid(refund)
    elif status == "error":
        _card_refund_failed(
            card_refund, "GOV.UK Pay could not refund the card.", acting_user=acting_user
        )


def _card_refund_failed(
    card_refund: GovukPayRefund, reason: str, *, acting_user: User | None
) -> None:
    """The refund did not happen: say so, and put the money back where it was approved from."""
    card_refund.status = CardRefundStatus.ERROR
    card_refund.error = reason[:300]
    card_refund.save(update_fields=["status", "error", "updated_at"])
    refund = Refund.objects.select_for_update().get(pk=card_refund.refund_id)
    if refund.journal_id and refund.status != RefundStatus.FAILED:
        reverse_journal(
            journal=refund.journal, reason=f"card refund failed: {reason}"[:200], acting_user=None
        )
    refund.status = RefundStatus.FAILED
    refund.save(update_fields=["status"])
    record_audit(
        "govuk_pay.refund_failed", acting_user=acting_user, target=card_refund, reason=reason
    )
