"""Transfers between funds: a receipt's money moved from one fund to another, reversibly."""

from django.core.exceptions import ValidationError
from django.db import transaction

from income.accounts import fund_account
from income.actions.ledger import PostingLine, is_pence, post_journal, reverse_journal
from income.balances import HeldLine, receipt_allocation_lines
from income.fund_checks import checked_rule, fund_problems, pounds
from income.fund_visibility import require_funds_visible, require_receipt_visible
from income.models import Fund, Journal, JournalKind, Receipt, effective_reference, own_reference
from tenants.audit.recording import record_audit
from tenants.capabilities import Capability, require_council_capability
from tenants.models import Council, User


@transaction.atomic
def transfer_between_funds(
    *,
    council: Council,
    receipt: Receipt,
    from_fund: Fund,
    to_fund: Fund,
    amount_pence: int,
    note: str,
    acting_user: User,
    reference: str | None = None,
) -> Journal:
    """Move `amount_pence` of `receipt` from one fund to another. The money keeps the
    reference it was paid under (`reference`: which of `from_fund`'s lines; None when the
    fund holds the receipt's money under one reference only), and must pass `to_fund`'s
    rule with it."""
    membership = require_council_capability(acting_user, council, Capability.WORK_SUSPENSE)
    receipt = Receipt.objects.select_for_update().get(pk=receipt.pk)
    require_receipt_visible(membership, receipt)
    require_funds_visible(membership, from_fund, to_fund)
    if not is_pence(amount_pence) or amount_pence <= 0:
        raise ValidationError("The amount must be a positive whole number of pence.")
    if from_fund == to_fund:
        raise ValidationError("Choose a different fund to transfer to.")
    if not note.strip():
        raise ValidationError("Say why the money is being transferred.")
    held_by_reference = {
        line.reference: pence
        for line, pence in receipt_allocation_lines(receipt).items()
        if line.fund_id == from_fund.pk
    }
    if reference is None and len(held_by_reference) > 1:
        raise ValidationError(
            f"{from_fund.code} holds {receipt.number}'s money for more than one reference: "
            "say which."
        )
    if reference is None:
        reference = next(iter(held_by_reference), receipt.payer_reference)
    held = held_by_reference.get(reference, 0)
    if amount_pence > held:
        raise ValidationError(
            f"{from_fund.code} holds {pounds(held)} of {receipt.number} for reference "
            f"{reference or '(none)'}, not {pounds(amount_pence)}."
        )
    problems = fund_problems(
        to_fund,
        channel=receipt.channel,
        amount_pence=amount_pence,
        received_on=receipt.received_on,
        reference=reference,
    )
    if problems:
        raise ValidationError(problems)
    own = own_reference(reference, receipt.payer_reference)
    journal = post_journal(
        kind=JournalKind.TRANSFER,
        description=f"{receipt.number} {from_fund.code} → {to_fund.code}: {note}",
        lines=[
            PostingLine(fund_account(from_fund), amount_pence, receipt, own),
            PostingLine(fund_account(to_fund), -amount_pence, receipt, own, checked_rule(to_fund)),
        ],
        acting_user=acting_user,
    )
    record_audit(
        "transfer.posted",
        acting_user=acting_user,
        target=receipt,
        after={"journal": journal.pk, "from": from_fund.code, "to": to_fund.code,
               "reference": reference, "amount_pence": amount_pence},
        reason=note,
    )  # fmt: skip
    return journal


@transaction.atomic
def reverse_transfer(
    *, council: Council, journal: Journal, reason: str, acting_user: User
) -> Journal:
    membership = require_council_capability(acting_user, council, Capability.WORK_SUSPENSE)
    if journal.kind not in (JournalKind.TRANSFER, JournalKind.SUSPENSE_ALLOCATION):
        raise ValidationError("Only transfers and allocations from suspense are reversed here.")
    if not reason.strip():
        raise ValidationError("Say why the transfer is being reversed.")
    for receipt_id in journal.postings.values_list("receipt_id", flat=True).distinct():
        receipt = Receipt.objects.select_for_update().get(pk=receipt_id)
        require_receipt_visible(membership, receipt)
        # Reversing must not take back money that has since moved on (e.g. been refunded).
        held = receipt_allocation_lines(receipt)
        for posting in journal.postings.filter(receipt=receipt, amount_pence__lt=0).annotate(
            line_reference=effective_reference()
        ):
            line = HeldLine(posting.account.fund_id, posting.line_reference)
            if held.get(line, 0) < -posting.amount_pence:
                raise ValidationError(
                    f"{posting.account.name} no longer holds the money this moved; "
                    "it cannot be reversed."
                )
    reversal = reverse_journal(journal=journal, reason=reason, acting_user=acting_user)
    record_audit(
        "transfer.reversed",
        acting_user=acting_user,
        target=journal,
        after={"reversal": reversal.pk},
        reason=reason,
    )
    return reversal
