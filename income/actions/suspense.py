"""Working suspense: moving money that could not be placed to the funds it belongs to."""

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import transaction

from income.accounts import fund_account, suspense_account
from income.actions.ledger import PostingLine, is_pence, post_journal
from income.actions.receipts import Allocation
from income.balances import receipt_allocation_lines
from income.events import outbox
from income.fund_checks import checked_rule, fund_problems, pounds
from income.fund_visibility import require_funds_visible, require_receipt_visible
from income.models import Journal, JournalKind, Receipt, ReceiptStatus, own_reference
from income.text_fields import one_line
from tenants.audit.recording import record_audit
from tenants.capabilities import Capability, require_council_capability
from tenants.models import Council, User


@transaction.atomic
def allocate_from_suspense(
    *,
    council: Council,
    receipt: Receipt,
    allocations: Sequence[Allocation],
    note: str,
    acting_user: User,
) -> Journal:
    """Move some or all of a receipt's suspense money to one or more funds (a split)."""
    membership = require_council_capability(acting_user, council, Capability.WORK_SUSPENSE)
    receipt = Receipt.objects.select_for_update().get(pk=receipt.pk)
    require_receipt_visible(membership, receipt)
    require_funds_visible(membership, *(a.fund for a in allocations))
    if receipt.status != ReceiptStatus.ACTIVE:
        raise ValidationError(f"Receipt {receipt.number} has been reversed.")
    if not note.strip():
        raise ValidationError("Say why the money belongs to these funds.")
    in_suspense = receipt_allocation_lines(receipt)
    waiting = {line.reference: pence for line, pence in in_suspense.items() if line.fund_id is None}
    # A line without a reference of its own is for the money it takes: the reference the
    # suspense money waits under (the payer's, unless a split put several there).
    default_reference = next(iter(waiting), receipt.payer_reference)
    allocations = [
        Allocation(a.fund, a.amount_pence, one_line(a.reference or default_reference)[:50])
        for a in allocations
    ]
    problems: list[str] = []
    if not allocations or any(a.fund is None for a in allocations):
        problems.append("Choose the fund for each amount.")
    if any(not is_pence(a.amount_pence) or a.amount_pence <= 0 for a in allocations):
        raise ValidationError("Each allocation must be a positive whole number of pence.")
    total = sum(a.amount_pence for a in allocations)
    if total > sum(waiting.values()):
        problems.append(
            f"Only {pounds(sum(waiting.values()))} of {receipt.number} is in suspense, "
            f"not {pounds(total)}."
        )
    for allocation in allocations:
        if allocation.fund is not None:
            # Each line of a split is checked against its own fund's rule, with its own
            # reference (a Parking notice is not a Council Tax account).
            problems += fund_problems(
                allocation.fund,
                channel=receipt.channel,
                amount_pence=allocation.amount_pence,
                received_on=receipt.received_on,
                reference=allocation.reference,
            )
    if problems:
        raise ValidationError(problems)
    payer = receipt.payer_reference
    lines = [
        PostingLine(suspense_account(), pence, receipt, own_reference(reference, payer))
        for reference, pence in _taken_from_suspense(waiting, allocations).items()
    ] + [
        PostingLine(
            fund_account(a.fund), -a.amount_pence, receipt, own_reference(a.reference, payer),
            checked_rule(a.fund),
        )
        for a in allocations
    ]  # fmt: skip
    journal = post_journal(
        kind=JournalKind.SUSPENSE_ALLOCATION,
        description=f"{receipt.number} from suspense: {note}",
        lines=lines,
        acting_user=acting_user,
    )
    record_audit(
        "suspense.allocated",
        acting_user=acting_user,
        target=receipt,
        after={
            "journal": journal.pk,
            "allocations": [
                {"fund": a.fund.code, "reference": a.reference, "amount_pence": a.amount_pence}
                for a in allocations
            ],
        },
        reason=note,
    )
    outbox.suspense_allocated(receipt, allocations)
    return journal


def _taken_from_suspense(
    waiting: dict[str, int], allocations: Sequence[Allocation]
) -> dict[str, int]:
    """Which of the suspense money each allocation takes, per reference it waits under: first
    the money waiting under the allocation's own reference, then the rest in order. The
    suspense side of the journal empties those references, so what is left in suspense
    keeps the references it arrived with."""
    left = dict(waiting)
    taken: dict[str, int] = {}
    for allocation in allocations:
        wanted = allocation.amount_pence
        order = sorted(left, key=lambda reference: reference != allocation.reference)
        for reference in order:
            take = min(wanted, left[reference])
            if take:
                left[reference] -= take
                taken[reference] = taken.get(reference, 0) + take
                wanted -= take
    return taken
