"""The price book: adding prices (never rewriting them) and putting them into Stripe."""

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from billing import stripe_gateway
from billing.models import PriceBookRow, PriceKind
from tenants.audit.recording import record_audit

PRODUCTS = {
    PriceKind.BAND: ("counterfoil_platform_share", "Counterfoil platform share"),
    PriceKind.TRANSACTION: ("counterfoil_transactions", "Counterfoil transactions"),
    PriceKind.STORAGE_GB: ("counterfoil_storage", "Counterfoil storage above the allowance"),
}
# Meter event names, and how Stripe sums each over a month: every transaction counts; storage
# is what is held at the end of the period.
METERS = {
    PriceKind.TRANSACTION: ("counterfoil_transactions", "Transactions", "sum"),
    PriceKind.STORAGE_GB: ("counterfoil_storage_gb", "GB stored above the allowance", "last"),
}


def add_price_book_row(
    *,
    kind: str,
    amount_pence: int,
    effective_from: date,
    population_from: int = 0,
    allowance_gb: int = 0,
    acting_user: Any,
) -> PriceBookRow:
    """Add a price from a date. A date already past is refused: prices are never changed
    backwards, so every invoice already raised stays explained by the book."""
    if effective_from < timezone.localdate():
        raise ValidationError("A price cannot take effect before today")
    if amount_pence < 0:
        raise ValidationError("A price cannot be negative")
    if kind != PriceKind.BAND:
        population_from = 0
    if PriceBookRow.objects.filter(
        kind=kind, population_from=population_from, effective_from=effective_from
    ).exists():
        raise ValidationError("There is already a price for this from that date")
    with transaction.atomic():
        row = PriceBookRow.objects.create(
            kind=kind,
            amount_pence=amount_pence,
            effective_from=effective_from,
            population_from=population_from,
            allowance_gb=allowance_gb if kind == PriceKind.STORAGE_GB else 0,
        )
        record_audit(
            "billing.price_added",
            acting_user=acting_user,
            target=row,
            after={
                "kind": kind,
                "amount_pence": amount_pence,
                "effective_from": effective_from.isoformat(),
                "population_from": population_from,
                "allowance_gb": row.allowance_gb,
            },
        )
    return row


def current_prices(on: date | None = None) -> list[PriceBookRow]:
    """The price of each kind (and each band) in force on a day."""
    on = on or timezone.localdate()
    latest: dict[tuple[str, int], PriceBookRow] = {}
    for row in PriceBookRow.objects.filter(effective_from__lte=on).order_by("effective_from"):
        latest[(row.kind, row.population_from)] = row
    return sorted(latest.values(), key=lambda row: (row.kind, row.population_from))


def sync_price_book() -> list[str]:
    """Make sure Stripe holds a product, a price (by lookup key) for every row, the meters and
    the VAT rate. Safe to run any number of times: what exists is found, not made again."""
    done = []
    meters = {
        kind: stripe_gateway.find_or_create_meter(
            event_name=event_name, display_name=display_name, formula=formula
        ).id
        for kind, (event_name, display_name, formula) in METERS.items()
    }
    tax_rate = stripe_gateway.find_or_create_vat_rate()
    done.append(f"VAT rate {tax_rate.id}")
    products_made: set[str] = set()
    for row in PriceBookRow.objects.order_by("pk"):
        product_id, product_name = PRODUCTS[PriceKind(row.kind)]
        price = stripe_gateway.find_price(row.lookup_key)
        if price is None:
            if product_id not in products_made:
                try:
                    stripe_gateway.create_product(key=product_id, name=product_name)
                except stripe_gateway.StripeError as refused:
                    if getattr(refused, "code", None) != "resource_already_exists":
                        raise
                products_made.add(product_id)
            price = stripe_gateway.create_price(
                lookup_key=row.lookup_key,
                product=product_id,
                unit_amount=row.amount_pence,
                meter=meters.get(PriceKind(row.kind)),
            )
            done.append(f"created {row.lookup_key} as {price.id}")
        else:
            done.append(f"found {row.lookup_key} as {price.id}")
        if row.stripe_price_id != price.id:
            PriceBookRow.objects.filter(pk=row.pk).update(stripe_price_id=price.id)
    return done
