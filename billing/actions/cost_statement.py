"""The cost-sharing statement's changes: the platform's monthly costs (typed in or from an AWS
cost report), the published formula, and settling a council's year in Stripe. Each audited."""

import hashlib
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing import stripe_gateway
from billing.cost_models import (
    CostSharingFormula,
    CostSource,
    PlatformCost,
    TrueUpOutcome,
    TrueUpSettlement,
)
from billing.cost_statement import (
    months_of_year,
    statements_for,
    true_up_for,
    year_label,
)
from billing.formats.aws_cost_report import CostFileRefused, read_cost_report
from billing.models import BillingAccount, Invoice
from tenants.audit.recording import record_audit
from tenants.models import Council


def _set_cost(month: date, category: str, amount_pence: int, source: str) -> int | None:
    """Upsert one month's category; the amount it had before (None if new)."""
    existing = PlatformCost.objects.select_for_update().filter(month=month, category=category)
    before = existing.values_list("amount_pence", flat=True).first()
    PlatformCost.objects.update_or_create(
        month=month,
        category=category,
        defaults={"amount_pence": amount_pence, "source": source},
    )
    return before


def record_monthly_cost(
    *, month: date, category: str, amount_pence: int, acting_user: Any
) -> PlatformCost:
    """What the platform cost in a month under a category (a second entry replaces the first)."""
    category = category.strip()
    if not category:
        raise ValidationError("Enter what the cost was for")
    if amount_pence < 0:
        raise ValidationError("A cost cannot be negative")
    if month.replace(day=1) > timezone.localdate().replace(day=1):
        raise ValidationError("A month's cost can be entered only once the month has begun")
    month = month.replace(day=1)
    with transaction.atomic():
        before = _set_cost(month, category, amount_pence, str(CostSource.MANUAL))
        cost = PlatformCost.objects.get(month=month, category=category)
        record_audit(
            "billing.cost_recorded",
            acting_user=acting_user,
            target=cost,
            before=None if before is None else {"amount_pence": before},
            after={"month": month.isoformat(), "category": category, "amount_pence": amount_pence},
        )
    return cost


def import_cost_report(*, content: bytes, filename: str, acting_user: Any) -> list[PlatformCost]:
    """Every month and category an AWS cost report holds, all or nothing: a refused file
    (CostFileRefused) stores nothing."""
    monthly = read_cost_report(content)
    this_month = timezone.localdate().replace(day=1)
    future = sorted({cost.month for cost in monthly if cost.month > this_month})
    if future:
        raise CostFileRefused([f"The file has costs for {future[0]:%B %Y}, which has not begun"])
    with transaction.atomic():
        changed = {}
        for cost in monthly:
            before = _set_cost(
                cost.month, cost.category, cost.amount_pence, str(CostSource.AWS_CUR)
            )
            changed[f"{cost.month:%Y-%m} {cost.category}"] = [before, cost.amount_pence]
        record_audit(
            "billing.cost_report_imported",
            acting_user=acting_user,
            after={
                "filename": filename[:200],
                "sha256": hashlib.sha256(content).hexdigest(),
                "costs": changed,
            },
        )
    return list(
        PlatformCost.objects.filter(month__in={cost.month for cost in monthly}).order_by(
            "month", "category"
        )
    )


def set_cost_sharing_formula(
    *,
    effective_from: date,
    fixed_percent: int,
    transactions_percent: int,
    storage_percent: int,
    tolerance_percent: Decimal,
    acting_user: Any,
) -> CostSharingFormula:
    """New weights from the first of a month, this month or later: months already shared out
    keep the formula they were shared by."""
    weights = (fixed_percent, transactions_percent, storage_percent)
    if min(weights) < 0 or sum(weights) != 100:
        raise ValidationError("The three weights must be whole percentages adding up to 100")
    if not Decimal(0) <= tolerance_percent <= Decimal(100):
        raise ValidationError("The tolerance must be between 0% and 100%")
    effective_from = effective_from.replace(day=1)
    if effective_from < timezone.localdate().replace(day=1):
        raise ValidationError("A formula cannot take effect before this month")
    if CostSharingFormula.objects.filter(effective_from=effective_from).exists():
        raise ValidationError("There is already a formula from that month")
    with transaction.atomic():
        formula = CostSharingFormula.objects.create(
            effective_from=effective_from,
            fixed_percent=fixed_percent,
            transactions_percent=transactions_percent,
            storage_percent=storage_percent,
            tolerance_percent=tolerance_percent,
        )
        record_audit(
            "billing.cost_formula_set",
            acting_user=acting_user,
            target=formula,
            after={
                "effective_from": effective_from.isoformat(),
                "fixed_percent": fixed_percent,
                "transactions_percent": transactions_percent,
                "storage_percent": storage_percent,
                "tolerance_percent": str(tolerance_percent),
            },
        )
    return formula


def settle_true_up(*, council: Council, year: int, acting_user: Any) -> TrueUpSettlement:
    """Settle a council's ended financial year once: beyond the tolerance, what it paid over
    its share comes back as a credit note (or, if no paid invoice can carry it, a credit on
    its next invoice), and what it paid under is added to its next invoice."""
    existing = TrueUpSettlement.objects.filter(council=council, year=year).first()
    if existing:
        return existing
    statements = statements_for(months_of_year(year))
    figures = true_up_for(council, year, statements)
    if not figures.year_ended:
        raise ValidationError(f"The year {year_label(year)} has not ended yet")
    account = BillingAccount.objects.filter(council=council).first()
    if account is None or not account.stripe_customer_id:
        raise ValidationError(f"{council.name} is not a Stripe customer")
    outcome, stripe_id = TrueUpOutcome.WITHIN_TOLERANCE, ""
    difference = figures.difference_pence
    if figures.beyond_tolerance and difference:
        key = f"{council.schema_name}:{year}"
        description = f"Counterfoil cost-sharing true-up {year_label(year)}"
        tax_rate = stripe_gateway.find_or_create_vat_rate().id
        carrier = _invoice_to_credit(account, difference)
        if difference > 0 and carrier is not None:
            note = stripe_gateway.credit_paid_invoice(
                key=key,
                invoice=carrier.stripe_id,
                net_pence=difference,
                description=description,
                tax_rate=tax_rate,
            )
            outcome, stripe_id = TrueUpOutcome.CREDIT_NOTE, note.id
        else:
            item = stripe_gateway.add_invoice_item(
                key=key,
                customer=account.stripe_customer_id,
                net_pence=-difference,
                description=description,
                tax_rate=tax_rate,
            )
            outcome = TrueUpOutcome.CREDIT_ITEM if difference > 0 else TrueUpOutcome.INVOICE_ITEM
            stripe_id = item.id
    try:
        with transaction.atomic():
            settlement = TrueUpSettlement.objects.create(
                council=council,
                year=year,
                paid_pence=figures.paid_pence,
                share_pence=figures.share_pence,
                difference_pence=difference,
                tolerance_percent=figures.tolerance_percent,
                outcome=outcome,
                stripe_id=stripe_id,
            )
            record_audit(
                "billing.true_up_settled",
                acting_user=acting_user,
                target=settlement,
                after={
                    "council": council.schema_name,
                    "year": year,
                    "paid_pence": figures.paid_pence,
                    "share_pence": figures.share_pence,
                    "outcome": outcome,
                    "stripe_id": stripe_id,
                },
            )
    except IntegrityError:  # settled at the same moment by another request: Stripe has one
        return TrueUpSettlement.objects.get(council=council, year=year)
    return settlement


def _invoice_to_credit(account: BillingAccount, net_pence: int) -> Invoice | None:
    """The latest paid invoice big enough to carry a credit note of `net_pence` plus VAT."""
    gross = net_pence + stripe_gateway.vat_on(net_pence)
    return (
        Invoice.objects.filter(account=account, status="paid", amount_paid_pence__gte=gross)
        .order_by("-stripe_created")
        .first()
    )
