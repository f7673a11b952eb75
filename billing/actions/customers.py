"""Councils as Stripe customers, and the billing details their admins keep up to date."""

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from billing import stripe_gateway
from billing.actions.price_book import current_prices
from billing.models import BillingAccount, PriceBookRow, PriceKind
from tenants.audit.recording import record_audit, record_audit_in
from tenants.models import Council, CouncilApplication


def account_for(council: Council) -> BillingAccount:
    """The council's billing account; a new one starts with its application's contact."""
    application = CouncilApplication.objects.filter(council=council).first()
    account, _ = BillingAccount.objects.get_or_create(
        council=council,
        defaults={
            "contact_name": application.contact_name if application else "",
            "contact_email": application.contact_email if application else "",
        },
    )
    return account


def subscription_prices(account: BillingAccount, on: date | None = None) -> list[PriceBookRow]:
    """The council's band (the highest band its population reaches) and the metered prices,
    as the price book has them on a day (today unless given)."""
    prices = current_prices(on)
    bands = [
        row
        for row in prices
        if row.kind == PriceKind.BAND and row.population_from <= account.population
    ]
    chosen = bands[-1:] + [row for row in prices if row.kind != PriceKind.BAND]
    missing = [row for row in chosen if not row.stripe_price_id]
    if not bands or missing:
        raise ValidationError("The price book is not in Stripe yet: run sync_price_book")
    return chosen


def create_customer(*, council_id: int) -> BillingAccount:
    """Make the council a Stripe customer with its subscription. Run again (a retried task),
    it finds what it made: the idempotency keys are the council's, not random."""
    council = Council.objects.get(pk=council_id)
    account = account_for(council)
    if not account.stripe_customer_id:
        customer = stripe_gateway.create_customer(
            key=council.schema_name,
            name=council.name,
            email=account.contact_email,
            address={
                "line1": account.address_line1,
                "postal_code": account.postal_code,
                "country": "GB",
            },
            po_number=account.po_number,
            metadata={"council_schema": council.schema_name},
        )
        BillingAccount.objects.filter(pk=account.pk).update(stripe_customer_id=customer.id)
        account.stripe_customer_id = customer.id
    if not account.stripe_subscription_id:
        tax_rate = stripe_gateway.find_or_create_vat_rate()
        subscription = stripe_gateway.create_subscription(
            key=council.schema_name,
            customer=account.stripe_customer_id,
            prices=[row.stripe_price_id for row in subscription_prices(account)],
            tax_rate=tax_rate.id,
        )
        BillingAccount.objects.filter(pk=account.pk).update(
            stripe_subscription_id=subscription.id, subscription_status=subscription.status
        )
        account.refresh_from_db()
    return account


def update_billing_details(
    *,
    council: Council,
    contact_name: str,
    contact_email: str,
    po_number: str,
    acting_user: Any,
) -> BillingAccount:
    """Change who receives invoices and the purchase-order number quoted on them."""
    if len(po_number) > 140:
        raise ValidationError("A purchase-order number can be at most 140 characters")
    with transaction.atomic():
        account = BillingAccount.objects.select_for_update().get(pk=account_for(council).pk)
        before = {
            "contact_name": account.contact_name,
            "contact_email": account.contact_email,
            "po_number": account.po_number,
        }
        account.contact_name = contact_name
        account.contact_email = contact_email
        account.po_number = po_number
        account.save(update_fields=["contact_name", "contact_email", "po_number"])
        after = {
            "contact_name": contact_name,
            "contact_email": contact_email,
            "po_number": po_number,
        }
        record_audit_in(
            council.schema_name,
            "billing.details_changed",
            acting_user=acting_user,
            before=before,
            after=after,
        )
    if account.stripe_customer_id:
        stripe_gateway.update_customer(
            customer=account.stripe_customer_id,
            email=contact_email,
            name=council.name,
            po_number=po_number,
        )
    return account


def set_population(*, account: BillingAccount, population: int, acting_user: Any) -> None:
    """The population that places a council in a band (for its subscription when created)."""
    with transaction.atomic():
        before = {"population": account.population}
        BillingAccount.objects.filter(pk=account.pk).update(population=population)
        record_audit(
            "billing.population_set",
            acting_user=acting_user,
            target=account,
            before=before,
            after={"population": population},
        )
