"""The suspense worklist: receipts with money not yet in a fund, oldest first, with hints."""

import datetime
from dataclasses import dataclass, field

from django.db.models import Sum
from django.db.models.functions import Upper

from income.fund_visibility import visible_receipts
from income.models import AccountKind, Fund, Posting, Receipt, effective_reference
from tenants.models import Membership


@dataclass
class SuspenseItem:
    receipt: Receipt
    in_suspense_pence: int
    age_days: int
    suggestions: list[str] = field(default_factory=list)
    # The references the suspense money waits under (a split basket's lines keep theirs).
    references: list[str] = field(default_factory=list)


def suspense_items(
    *, today: datetime.date, limit: int = 200, visible_to: Membership | None = None
) -> list[SuspenseItem]:
    held = (
        Posting.objects.filter(account__kind=AccountKind.SUSPENSE, receipt__isnull=False)
        .values("receipt_id")
        .annotate(total=Sum("amount_pence"))
        .filter(total__lt=0)
    )
    amounts = {row["receipt_id"]: -row["total"] for row in held}
    receipts = Receipt.objects.filter(pk__in=amounts).select_related("channel")
    if visible_to is not None:
        receipts = visible_receipts(visible_to, receipts)
    receipts = receipts.order_by("received_on", "id")[:limit]
    items = [SuspenseItem(r, amounts[r.pk], (today - r.received_on).days) for r in receipts]
    _add_references(items)
    _add_suggestions(items)
    return items


def suspense_total() -> int:
    total = Posting.objects.filter(account__kind=AccountKind.SUSPENSE).aggregate(
        total=Sum("amount_pence")
    )["total"]
    return -(total or 0)


def _add_references(items: list[SuspenseItem]) -> None:
    lines = (
        Posting.objects.filter(
            account__kind=AccountKind.SUSPENSE, receipt__in=[item.receipt for item in items]
        )
        .annotate(line_reference=effective_reference())
        .values("receipt_id", "line_reference")
        .annotate(total=Sum("amount_pence"))
        .filter(total__lt=0)
        .order_by("receipt_id", "line_reference")
    )
    waiting: dict[int, list[str]] = {}
    for row in lines:
        waiting.setdefault(row["receipt_id"], []).append(row["line_reference"])
    for item in items:
        item.references = [ref for ref in waiting.get(item.receipt.pk, []) if ref]


def _add_suggestions(items: list[SuspenseItem]) -> None:
    """Hints, not decisions: a fund whose reference rule accepts a reference the money waits
    under, and the fund earlier payments with the same reference went to."""
    references = {reference for item in items for reference in item.references}
    known: dict[str, set[str]] = {}
    if references:
        for reference, code in _funds_paid_under(references):
            known.setdefault(reference, set()).add(code)
    rule_funds = list(
        Fund.objects.filter(is_active=True, reference_rule__is_active=True).select_related(
            "reference_rule"
        )
    )
    for item in items:
        several = len(item.references) > 1
        for reference in item.references:
            about = f" ({reference})" if several else ""
            for code in sorted(known.get(reference, ())):
                item.suggestions.append(
                    f"Earlier payments with this reference went to {code}{about}"
                )
            for fund in rule_funds:
                if fund.reference_rule.check_reference(reference).valid:
                    item.suggestions.append(f"A valid {fund.code} reference{about}")


def _funds_paid_under(references: set[str]) -> list[tuple[str, str]]:
    """(reference, fund code) of earlier money placed in a fund under one of `references`:
    lines under their receipt's payer reference (that receipt column's lookup), and lines
    with their own (the partial index of those, which holds them upper-cased)."""
    fund_credits = Posting.objects.filter(account__kind=AccountKind.FUND, amount_pence__lt=0)
    by_payer = (
        fund_credits.filter(reference__isnull=True, receipt__payer_reference__in=references)
        .values_list("receipt__payer_reference", "account__fund__code")
        .distinct()
    )
    by_line = (
        fund_credits.filter(reference__isnull=False)
        .alias(reference_upper=Upper("reference"))
        .filter(reference_upper__in={reference.upper() for reference in references})
        .values_list("reference", "account__fund__code")
        .distinct()
    )
    return [*by_payer, *((ref, code) for ref, code in by_line if ref in references)]
