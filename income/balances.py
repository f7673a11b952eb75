"""Reading the ledger: balances and where a receipt's money sits now."""

from collections import defaultdict
from typing import NamedTuple

from django.db.models import Min, Sum

from income.models import (
    Account,
    AccountKind,
    Posting,
    Receipt,
    Refund,
    RefundStatus,
    effective_reference,
)

# Refunds that hold money back from being refunded again.
OPEN_REFUND_STATUSES = (RefundStatus.REQUESTED,)


def account_balance(account: Account) -> int:
    """Debits minus credits, in pence (a fund's income shows as a negative balance)."""
    total = Posting.objects.filter(account=account).aggregate(total=Sum("amount_pence"))["total"]
    return total or 0


def receipt_allocation(receipt: Receipt) -> dict[int | None, int]:
    """Where the receipt's money sits now: fund id (None for suspense) → pence held there."""
    held: dict[int | None, int] = defaultdict(int)
    rows = (
        Posting.objects.filter(
            receipt=receipt, account__kind__in=[AccountKind.FUND, AccountKind.SUSPENSE]
        )
        .values("account__fund_id")
        .annotate(total=Sum("amount_pence"))
    )
    for row in rows:
        # Credits hold money in a fund or suspense: negate to show what is held.
        if row["total"]:
            held[row["account__fund_id"]] = -row["total"]
    return {fund_id: pence for fund_id, pence in held.items() if pence}


class HeldLine(NamedTuple):
    """A line of a receipt's allocation: a fund (None: suspense) and the reference the money
    there is for."""

    fund_id: int | None
    reference: str


def receipt_allocation_lines(receipt: Receipt) -> dict[HeldLine, int]:
    """Where the receipt's money sits now, per fund (None: suspense) and reference, in the
    order the lines were first written; a split across funds, each with its own reference,
    shows each."""
    rows = (
        Posting.objects.filter(
            receipt=receipt, account__kind__in=[AccountKind.FUND, AccountKind.SUSPENSE]
        )
        .annotate(line_reference=effective_reference())
        .values("account__fund_id", "line_reference")
        .annotate(total=Sum("amount_pence"), first=Min("id"))
        .order_by("first")
    )
    return {
        HeldLine(row["account__fund_id"], row["line_reference"]): -row["total"]
        for row in rows
        if row["total"]
    }


def refundable_pence(receipt: Receipt, fund_id: int | None, reference: str | None = None) -> int:
    """What may still be asked back from this fund (or suspense) on this receipt, for this
    reference (None: whatever the reference): what it holds, less refunds raised and not yet
    decided (approved ones have already left it)."""
    lines = receipt_allocation_lines(receipt).items()
    held = sum(
        pence
        for line, pence in lines
        if line.fund_id == fund_id and reference in (None, line.reference)
    )
    pending = Refund.objects.filter(
        receipt=receipt, fund_id=fund_id, status__in=OPEN_REFUND_STATUSES
    )
    if reference is not None:
        pending = pending.filter(reference=reference)
    pending_pence = pending.aggregate(total=Sum("amount_pence"))["total"] or 0
    return max(held - pending_pence, 0)


def refunded_pence(receipt: Receipt) -> int:
    """Refunds approved (and so posted) against the receipt."""
    return (
        Posting.objects.filter(receipt=receipt, account__kind=AccountKind.REFUNDS_PAYABLE)
        .filter(amount_pence__lt=0)
        .aggregate(total=Sum("amount_pence"))["total"]
        or 0
    ) * -1
