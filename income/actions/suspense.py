"""Working suspense: moving money that could not be placed to the funds it belongs to."""

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import transaction

from income.accounts import fund_account, suspense_account
from income.actions.ledger import PostingLine, post_journal
from income.actions.receipts import Allocation
from income.balances import receipt_allocation
from income.fund_checks import fund_problems, pounds
from income.fund_visibility import require_funds_visible, require_receipt_visible
from income.models import Journal, JournalKind, Receipt, ReceiptStatus
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
    in_suspense = receipt_allocation(receipt).get(None, 0)
    problems: list[str] = []
    if not allocations or any(a.fund is None for a in allocations):
        problems.append("Choose the fund for each amount.")
    total = sum(a.amount_pence for a in allocations)
    if total > in_suspense:
        problems.append(
            f"Only {pounds(in_suspense)} of {receipt.number} is in suspense, not {pounds(total)}."
        )
    for allocation in allocations:
        if allocation.fund is not None:
            problems += fund_problems(
                allocation.fund,
                channel=receipt.channel,
                amount_pence=allocation.amount_pence,
                received_on=receipt.received_on,
                reference=allocation.reference or receipt.payer_reference,
            )
    if problems:
        raise ValidationError(problems)
    lines = [PostingLine(suspense_account(), total, receipt)] + [
        PostingLine(fund_account(a.fund), -a.amount_pence, receipt) for a in allocations
    ]
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
                {"fund": a.fund.code, "amount_pence": a.amount_pence} for a in allocations
            ],
        },
        reason=note,
    )
    return journal
