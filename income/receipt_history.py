"""Everything that happened to one receipt, in order: journals, refunds and audit records."""

from dataclasses import dataclass

from django.db.models import Prefetch, Q

from income.balances import receipt_allocation_lines
from income.models import Fund, Journal, Posting, Receipt
from tenants.audit.models import AuditEvent


@dataclass(frozen=True)
class HeldAmount:
    label: str
    pence: int
    reference: str = ""


def held_amounts(receipt: Receipt) -> list[HeldAmount]:
    """Each line of the receipt's money: its fund (or suspense), its reference, the amount."""
    held = receipt_allocation_lines(receipt)
    funds = Fund.objects.in_bulk([line.fund_id for line in held if line.fund_id])
    return [
        HeldAmount(str(funds[line.fund_id]) if line.fund_id else "Suspense", pence, line.reference)
        for line, pence in sorted(
            held.items(), key=lambda item: (item[0].fund_id is None, item[0].fund_id)
        )
    ]


def receipt_journals(receipt: Receipt) -> list[Journal]:
    """The journals that moved the receipt's money, each with its postings for this receipt
    (and those naming no receipt): a journal may move many receipts' money (an import's
    chunk of a hundred thousand lines, a cash-up, an import's reversal)."""
    own_postings = (
        Posting.objects.filter(Q(receipt=receipt) | Q(receipt__isnull=True))
        .select_related("account", "receipt")
        .order_by("id")
    )
    return list(
        Journal.objects.filter(postings__receipt=receipt)
        .distinct()
        .order_by("created_at", "id")
        .prefetch_related(Prefetch("postings", queryset=own_postings))
    )


def receipt_audit_events(receipt: Receipt) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(target_type="income.Receipt", target_id=str(receipt.pk)).order_by(
            "occurred_at", "id"
        )
    )
