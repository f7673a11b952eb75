"""Refunds: raised by one person, approved by another, never more than what is left to refund.

Card refunds go back through the card provider once approved (the GOV.UK Pay integration sends
them); others are marked for payment by the council's usual route and then marked paid.
"""

import datetime
from collections.abc import Collection

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import CharField, Func, Q, QuerySet, Sum, Value
from django.db.models.functions import Trim, Upper
from django.utils import timezone

from income.accounts import bank_account, fund_account, refunds_payable_account, suspense_account
from income.actions.govuk_pay.refunds import queue_card_refund
from income.actions.ledger import PostingLine, is_pence, post_journal
from income.balances import HeldLine, receipt_allocation_lines, refundable_pence
from income.events import outbox
from income.fund_checks import pounds
from income.fund_visibility import require_funds_visible, require_receipt_visible
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

# What counts towards an approver's limit: refunds approved (or further on) and those waiting.
COUNTED_REFUND_STATUSES = (
    RefundStatus.REQUESTED,
    RefundStatus.APPROVED,
    RefundStatus.SENT,
    RefundStatus.PAID,
)
# A payer's refunds raised this close together count as one for an approver's limit (a
# rolling day, so that splitting a refund either side of midnight gains nothing).
PAYER_WINDOW = datetime.timedelta(days=1)


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
    membership = require_council_capability(acting_user, council, Capability.RAISE_REFUNDS)
    # Serialise refunds on one receipt, so two requests cannot both take the last pound.
    receipt = Receipt.objects.select_for_update().get(pk=receipt.pk)
    require_receipt_visible(membership, receipt)
    require_funds_visible(membership, fund)
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
    *,
    council: Council,
    refund: Refund,
    acting_user: User,
    note: str = "",
    rejected_refunds_seen: Collection[int] = (),
) -> Refund:
    """Approve and post the refund: the money leaves the fund for refunds payable.

    An approver's limit holds for everything refunded or waiting on the receipt, and on the
    payer within a day, not for this refund alone: a refund refused for being too large
    cannot be approved in parts by the same person. A receipt with a rejected refund is
    approved only by someone who has seen it (`rejected_refunds_seen`: the rejected refunds
    the approval page showed them)."""
    membership = require_council_capability(acting_user, council, Capability.APPROVE_REFUNDS)
    refund = Refund.objects.select_for_update().get(pk=refund.pk)
    # The receipt row's lock serialises every decision on its refunds (raise_refund takes it
    # too), and the payer's lock every approval for that payer: two approvals cannot each
    # count without the other.
    receipt = Receipt.objects.select_for_update().get(pk=refund.receipt_id)
    require_receipt_visible(membership, receipt)
    lock_payer(receipt)
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
    if limit.max_amount_pence is not None:
        _check_running_totals(refund, receipt, limit.max_amount_pence)
    unseen = [r for r in rejected_refunds(refund) if r.pk not in set(rejected_refunds_seen)]
    if unseen:
        raise ValidationError(_unseen_rejections_message(receipt, unseen))
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
        after={
            "status": refund.status,
            "journal": refund.journal_id,
            "rejected_refunds_seen": sorted(set(rejected_refunds_seen)),
        },
        reason=note,
    )
    if refund.route == RefundRoute.CARD:
        # Paid through GOV.UK Pay: sent there once this approval commits, tracked to the end.
        queue_card_refund(refund=refund, acting_user=acting_user)
    return refund


def lock_payer(receipt: Receipt) -> None:
    """Hold the payer's refunds still until this transaction ends (a transaction-scoped
    advisory lock on each of their identities: name and reference)."""
    with connection.cursor() as cursor:
        for identity in sorted(payer_identities(receipt)):
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [identity])


def payer_identities(receipt: Receipt) -> set[str]:
    identities = set()
    if receipt.payer_reference.strip():
        identities.add("refund-payer-reference:" + receipt.payer_reference.strip().upper())
    if receipt.payer_name.strip():
        identities.add("refund-payer-name:" + " ".join(receipt.payer_name.split()).upper())
    return identities


def _same_payer(receipt: Receipt) -> Q | None:
    """Refunds on receipts of the same payer: the same reference, or the same name (case and
    spacing aside)."""
    matches = []
    if receipt.payer_reference.strip():
        matches.append(Q(receipt__payer_reference__iexact=receipt.payer_reference.strip()))
    if receipt.payer_name.strip():
        matches.append(Q(payer_key=" ".join(receipt.payer_name.split()).upper()))
    if not matches:
        return None
    combined = matches[0]
    for match in matches[1:]:
        combined |= match
    return combined


def _with_payer_key(refunds: QuerySet[Refund]) -> QuerySet[Refund]:
    spaced = Func(
        Trim("receipt__payer_name"), Value(r"\s+"), Value(" "), Value("g"),
        function="regexp_replace", output_field=CharField(),
    )  # fmt: skip
    return refunds.alias(payer_key=Upper(spaced))


def _check_running_totals(refund: Refund, receipt: Receipt, ceiling: int) -> None:
    others = Refund.objects.filter(status__in=COUNTED_REFUND_STATUSES).exclude(pk=refund.pk)
    on_receipt = refund.amount_pence + _total(others.filter(receipt=receipt))
    if on_receipt > ceiling:
        raise PermissionDenied(
            f"Your role may approve refunds up to {pounds(ceiling)}. With this one, "
            f"{pounds(on_receipt)} of {receipt.number} is refunded or waiting for approval: "
            "someone with a higher limit must approve it."
        )
    same_payer = _same_payer(receipt)
    if same_payer is None:
        return
    near = _with_payer_key(others).filter(
        same_payer,
        raised_at__gt=refund.raised_at - PAYER_WINDOW,
        raised_at__lt=refund.raised_at + PAYER_WINDOW,
    )
    for_payer = refund.amount_pence + _total(near)
    if for_payer > ceiling:
        raise PermissionDenied(
            f"Your role may approve refunds up to {pounds(ceiling)}. With this one, "
            f"{pounds(for_payer)} is refunded or waiting for approval to this payer within a "
            "day: someone with a higher limit must approve it."
        )


def _total(refunds: QuerySet[Refund]) -> int:
    return refunds.aggregate(total=Sum("amount_pence"))["total"] or 0


def rejected_refunds(refund: Refund) -> list[Refund]:
    """The refunds rejected on the same receipt: whoever approves this one must see them."""
    return list(
        Refund.objects.filter(receipt_id=refund.receipt_id, status=RefundStatus.REJECTED)
        .exclude(pk=refund.pk)
        .order_by("raised_at", "pk")
    )


def _unseen_rejections_message(receipt: Receipt, unseen: list[Refund]) -> str:
    listed = "; ".join(
        f"refund {r.pk} of {pounds(r.amount_pence)}, rejected by {r.decided_by_email}: "
        f"{r.decision_note}"
        for r in unseen
    )
    return (
        f"A refund on {receipt.number} was rejected before ({listed}). Confirm you have read "
        "why before approving this one."
    )


@transaction.atomic
def reject_refund(*, council: Council, refund: Refund, acting_user: User, note: str) -> Refund:
    membership = require_council_capability(acting_user, council, Capability.APPROVE_REFUNDS)
    refund = Refund.objects.select_for_update().get(pk=refund.pk)
    require_receipt_visible(membership, refund.receipt)
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
    outbox.refund_paid(refund)
    return refund
