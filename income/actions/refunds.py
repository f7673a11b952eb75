"""Refunds: raised by one person, approved by another, never more than what is left to refund.

Card refunds go back through the card provider once approved (the GOV.UK Pay integration sends
them); others are marked for payment by the council's usual route and then marked paid.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from income.accounts import bank_account, fund_account, refunds_payable_account, suspense_account
from income.actions.govuk_pay import queue_card_refund
from income.actions.ledger import PostingLine, is_pence, post_journal
from income.balances import HeldLine, receipt_allocation_lines, refundable_pence
from income.fund_checks import pounds
from income.models import (
    ChannelKind,
    Fund,
    JournalKind,
    Receipt,
    ReceiptStatus,
    Refund,
    RefundApprovalLimit,
    RefundRoute,
    RefundStatus,
    own_reference,
)
from tenants.audit.recording import record_audit
from tenants.capabilities import Capability, require_council_capability
from tenants.models import Council, User


@transaction.atomic
def raise_refund(
    *,
    council: Council,
    receipt: Receipt,
    fund: Fund | None,
    amount_pence: int,
    reason: str,
    acting_user: User,
    reference: str | None = None,
) -> Refund:
    """Ask for `amount_pence` of `receipt` held in `fund` (None: suspense) for `reference` to
    go back: a receipt split across funds holds each line under its own reference (None: the
    fund holds this receipt's money under one reference only)."""
    require_council_capability(acting_user, council, Capability.RAISE_REFUNDS)
    # Serialise refunds on one receipt, so two requests cannot both take the last pound.
    receipt = Receipt.objects.select_for_update().get(pk=receipt.pk)
    if receipt.status != ReceiptStatus.ACTIVE:
        raise ValidationError(f"Receipt {receipt.number} has been reversed.")
    if not is_pence(amount_pence) or amount_pence <= 0:
        raise ValidationError("The refund must be a positive whole number of pence.")
    if not reason.strip():
        raise ValidationError("Say why the money is being refunded.")
    if fund is not None and not fund.refunds_allowed:
        raise ValidationError(f"{fund.code} {fund.name} does not allow refunds.")
    fund_id = fund.pk if fund else None
    where = fund.code if fund else "suspense"
    references = [
        line.reference for line in receipt_allocation_lines(receipt) if line.fund_id == fund_id
    ]
    if reference is None and len(references) > 1:
        raise ValidationError(
            f"{where} holds {receipt.number}'s money for more than one reference: say which."
        )
    if reference is None:
        reference = references[0] if references else receipt.payer_reference
    available = refundable_pence(receipt, fund_id, reference)
    if amount_pence > available:
        raise ValidationError(
            f"At most {pounds(available)} of {receipt.number} can be refunded from {where}"
            + (f" for reference {reference}." if len(references) > 1 else ".")
        )
    refund = Refund.objects.create(
        receipt=receipt,
        fund=fund,
        reference=reference,
        amount_pence=amount_pence,
        reason=reason,
        route=RefundRoute.CARD if receipt.channel.kind == ChannelKind.CARD else RefundRoute.COUNCIL,
        raised_by_id=acting_user.pk,
        raised_by_email=acting_user.email,
    )
    record_audit(
        "refund.raised",
        acting_user=acting_user,
        target=refund,
        after={"receipt": receipt.number, "reference": reference, "amount_pence": amount_pence},
        reason=reason,
    )
    return refund


@transaction.atomic
def approve_refund(
    *, council: Council, refund: Refund, acting_user: User, note: str = ""
) -> Refund:
    """Approve and post the refund: the money leaves the fund for refunds payable."""
    membership = require_council_capability(acting_user, council, Capability.APPROVE_REFUNDS)
    refund = Refund.objects.select_for_update().get(pk=refund.pk)
    receipt = Receipt.objects.select_for_update().get(pk=refund.receipt_id)
    if refund.status != RefundStatus.REQUESTED:
        raise ValidationError(f"This refund is already {refund.get_status_display().lower()}.")
    if refund.raised_by_id == acting_user.pk:
        raise PermissionDenied("You raised this refund, so someone else must approve it.")
    limit = RefundApprovalLimit.objects.filter(role=membership.role).first()
    if limit is None or (
        limit.max_amount_pence is not None and refund.amount_pence > limit.max_amount_pence
    ):
        ceiling = (
            "no refunds" if limit is None else f"refunds up to {pounds(limit.max_amount_pence)}"
        )
        raise PermissionDenied(f"Your role may approve {ceiling}.")
    held = receipt_allocation_lines(receipt).get(HeldLine(refund.fund_id, refund.reference), 0)
    if refund.amount_pence > held:
        raise ValidationError(f"Only {pounds(held)} is left to refund on {receipt.number}.")
    source = fund_account(refund.fund) if refund.fund else suspense_account()
    # The money leaves the line it was held under, and goes out under its reference.
    reference = own_reference(refund.reference, receipt.payer_reference)
    refund.journal = post_journal(
        kind=JournalKind.REFUND,
        description=f"Refund on {receipt.number}: {refund.reason}",
        lines=[
            PostingLine(source, refund.amount_pence, receipt, reference),
            PostingLine(refunds_payable_account(), -refund.amount_pence, receipt, reference),
        ],
        acting_user=acting_user,
    )
    refund.status = RefundStatus.APPROVED
    refund.decided_by_id = acting_user.pk
    refund.decided_by_email = acting_user.email
    refund.decided_at = timezone.now()
    refund.decision_note = note
    refund.save()
    record_audit(
        "refund.approved",
        acting_user=acting_user,
        target=refund,
        before={"status": RefundStatus.REQUESTED},
        after={"status": refund.status, "journal": refund.journal_id},
        reason=note,
    )
    if refund.route == RefundRoute.CARD:
        # Paid through GOV.UK Pay: sent there once this approval commits, tracked to the end.
        queue_card_refund(refund=refund, acting_user=acting_user)
    return refund


@transaction.atomic
def reject_refund(*, council: Council, refund: Refund, acting_user: User, note: str) -> Refund:
    require_council_capability(acting_user, council, Capability.APPROVE_REFUNDS)
    refund = Refund.objects.select_for_update().get(pk=refund.pk)
    if refund.status != RefundStatus.REQUESTED:
        raise ValidationError(f"This refund is already {refund.get_status_display().lower()}.")
    if refund.raised_by_id == acting_user.pk:
        raise PermissionDenied("You raised this refund, so someone else must decide it.")
    if not note.strip():
        raise ValidationError("Say why the refund is rejected.")
    refund.status = RefundStatus.REJECTED
    refund.decided_by_id = acting_user.pk
    refund.decided_by_email = acting_user.email
    refund.decided_at = timezone.now()
    refund.decision_note = note
    refund.save()
    record_audit("refund.rejected", acting_user=acting_user, target=refund, reason=note)
    return refund


@transaction.atomic
def mark_refund_paid(*, council: Council, refund: Refund, acting_user: User) -> Refund:
    """A council-route refund has been paid from the bank (e.g. by BACS)."""
    require_council_capability(acting_user, council, Capability.APPROVE_REFUNDS)
    refund = Refund.objects.select_for_update().get(pk=refund.pk)
    if refund.route != RefundRoute.COUNCIL or refund.status != RefundStatus.APPROVED:
        raise ValidationError("Only approved refunds paid by the council are marked paid here.")
    post_journal(
        kind=JournalKind.REFUND_PAID,
        description=f"Refund paid on {refund.receipt.number}",
        lines=[
            PostingLine(refunds_payable_account(), refund.amount_pence, refund.receipt),
            PostingLine(bank_account(), -refund.amount_pence, refund.receipt),
        ],
        acting_user=acting_user,
    )
    refund.status = RefundStatus.PAID
    refund.save(update_fields=["status"])
    record_audit("refund.paid", acting_user=acting_user, target=refund)
    return refund
