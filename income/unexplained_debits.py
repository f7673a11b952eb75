"""The unexplained debits worklist: money that left the bank by a debit no receipt explains,
oldest first, and what the ledger holds for it."""

from dataclasses import dataclass

from django.db.models import Count, QuerySet, Sum

from income.models import AccountKind, Posting, UnexplainedDebit, UnexplainedDebitStatus


@dataclass(frozen=True)
class OpenDebits:
    count: int
    pence: int


def open_debits() -> QuerySet[UnexplainedDebit]:
    return UnexplainedDebit.objects.filter(status=UnexplainedDebitStatus.OPEN).select_related(
        "channel", "batch"
    )


def open_debits_total() -> OpenDebits:
    totals = UnexplainedDebit.objects.filter(status=UnexplainedDebitStatus.OPEN).aggregate(
        count=Count("id"), pence=Sum("amount_pence")
    )
    return OpenDebits(totals["count"], totals["pence"] or 0)


def unexplained_debits_balance() -> int:
    """What the ledger holds on the unexplained debits account (a debit balance: money out)."""
    total = Posting.objects.filter(account__kind=AccountKind.UNEXPLAINED_DEBITS).aggregate(
        total=Sum("amount_pence")
    )["total"]
    return total or 0
