"""The suspense worklist: receipts with money not yet in a fund, oldest first, with hints."""

import datetime
from dataclasses import dataclass, field

from django.db.models import F, Sum

from income.fund_visibility import visible_receipts
from income.models import AccountKind, Fund, Posting, Receipt
from tenants.models import Membership


@dataclass
class SuspenseItem:
    receipt: Receipt
    in_suspense_pence: int
    age_days: int
    suggestions: list[str] = field(default_factory=list)


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
    _add_suggestions(items)
    return items


def suspense_total() -> int:
    total = Posting.objects.filter(account__kind=AccountKind.SUSPENSE).aggregate(
        total=Sum("amount_pence")
    )["total"]
    return -(total or 0)


def _add_suggestions(items: list[SuspenseItem]) -> None:
    """Hints, not decisions: a fund whose reference rule accepts the reference, and the fund
    earlier payments with the same reference went to."""
    references = {item.receipt.payer_reference for item in items if item.receipt.payer_reference}
    previous = (
        Posting.objects.filter(
            account__kind=AccountKind.FUND,
            amount_pence__lt=0,
            receipt__payer_reference__in=references,
        )
        .values("receipt__payer_reference", fund_code=F("account__fund__code"))
        .distinct()
    )
    known: dict[str, set[str]] = {}
    for row in previous:
        known.setdefault(row["receipt__payer_reference"], set()).add(row["fund_code"])
    rule_funds = list(
        Fund.objects.filter(is_active=True, reference_rule__is_active=True).select_related(
            "reference_rule"
        )
    )
    for item in items:
        reference = item.receipt.payer_reference
        if not reference:
            continue
        for code in sorted(known.get(reference, ())):
            item.suggestions.append(f"Earlier payments with this reference went to {code}")
        for fund in rule_funds:
            if fund.reference_rule.check_reference(reference).valid:
                item.suggestions.append(f"A valid {fund.code} reference")
