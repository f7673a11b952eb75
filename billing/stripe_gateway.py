"""The one place Counterfoil talks to Stripe, through the official `stripe` package.

Every create carries a deterministic idempotency key, so a retried task (or the library's own
retry after a 429 or a 5xx) never makes a second object.
"""

from typing import Any

import stripe
from django.conf import settings

StripeError = stripe.StripeError
SignatureVerificationError = stripe.SignatureVerificationError


def _configure() -> None:
    # Read settings each call: tests and the demo point Stripe at a local stand-in.
    stripe.api_key = settings.STRIPE_SECRET_KEY
    stripe.api_base = settings.STRIPE_API_BASE
    stripe.max_network_retries = settings.STRIPE_MAX_NETWORK_RETRIES


def find_price(lookup_key: str) -> stripe.Price | None:
    _configure()
    found = stripe.Price.list(lookup_keys=[lookup_key], limit=1)
    return found.data[0] if found.data else None


def create_product(*, key: str, name: str) -> stripe.Product:
    _configure()
    return stripe.Product.create(name=name, id=key, idempotency_key=f"product:{key}")


def create_price(
    *,
    lookup_key: str,
    product: str,
    unit_amount: int,
    meter: str | None = None,
) -> stripe.Price:
    _configure()
    recurring: dict[str, Any] = {"interval": "month"}
    if meter:
        recurring["usage_type"] = "metered"
        recurring["meter"] = meter
    return stripe.Price.create(
        currency="gbp",
        unit_amount=unit_amount,
        product=product,
        lookup_key=lookup_key,
        recurring=recurring,  # type: ignore[arg-type]
        tax_behavior="exclusive",
        idempotency_key=f"price:{lookup_key}",
    )


def find_or_create_vat_rate() -> stripe.TaxRate:
    _configure()
    for rate in stripe.TaxRate.list(active=True, limit=100).data:
        if rate.metadata and rate.metadata.to_dict().get("counterfoil") == "uk_vat_20":
            return rate
    return stripe.TaxRate.create(
        display_name="VAT",
        description="UK VAT 20%",
        percentage=20.0,
        inclusive=False,
        country="GB",
        jurisdiction="GB",
        tax_type="vat",
        metadata={"counterfoil": "uk_vat_20"},
        idempotency_key="tax_rate:uk_vat_20",
    )


def find_or_create_meter(
    *, event_name: str, display_name: str, formula: str
) -> stripe.billing.Meter:
    _configure()
    for meter in stripe.billing.Meter.list(limit=100).data:
        if meter.event_name == event_name:
            return meter
    return stripe.billing.Meter.create(
        display_name=display_name,
        event_name=event_name,
        default_aggregation={"formula": formula},
        customer_mapping={"event_payload_key": "stripe_customer_id", "type": "by_id"},
        value_settings={"event_payload_key": "value"},
        idempotency_key=f"meter:{event_name}",
    )


def create_customer(
    *,
    key: str,
    name: str,
    email: str,
    address: dict[str, str],
    po_number: str,
    metadata: dict[str, str],
) -> stripe.Customer:
    _configure()
    return stripe.Customer.create(
        name=name,
        email=email,
        address=address,  # type: ignore[arg-type]
        tax_exempt="none",
        invoice_settings={"custom_fields": _po_fields(po_number)},
        metadata=metadata,
        idempotency_key=f"customer:{key}",
    )


def update_customer(*, customer: str, email: str, name: str, po_number: str) -> stripe.Customer:
    _configure()
    return stripe.Customer.modify(
        customer,
        email=email,
        invoice_settings={"custom_fields": _po_fields(po_number) or ""},
    )


def _po_fields(po_number: str) -> list[Any]:
    return [{"name": "PO number", "value": po_number[:140]}] if po_number else []


def create_subscription(
    *, key: str, customer: str, prices: list[str], tax_rate: str
) -> stripe.Subscription:
    _configure()
    return stripe.Subscription.create(
        customer=customer,
        items=[{"price": price} for price in prices],
        collection_method="send_invoice",
        days_until_due=30,
        default_tax_rates=[tax_rate],
        # Flexible billing mode: a metered price removed mid-period (a price change) bills the
        # usage reported so far; classic mode would drop it.
        billing_mode={"type": "flexible"},
        idempotency_key=f"subscription:{key}",
    )


def retrieve_subscription(subscription: str) -> stripe.Subscription:
    _configure()
    return stripe.Subscription.retrieve(subscription)


def move_to_flexible_billing(*, subscription: str) -> stripe.Subscription:
    """A subscription made in classic billing mode, moved to flexible (which cannot be undone)."""
    _configure()
    return stripe.Subscription.migrate(subscription, billing_mode={"type": "flexible"})


def change_subscription_prices(
    *,
    key: str,
    subscription: str,
    remove_items: list[str],
    add_prices: list[str],
    proration_date: int,
) -> stripe.Subscription:
    """Swap prices from `proration_date`: fixed prices prorated (credit for the old, charge for
    the new), and each removed metered price's usage so far billed at that price."""
    _configure()
    items: list[Any] = [{"id": item, "deleted": True} for item in remove_items]
    items += [{"price": price} for price in add_prices]
    return stripe.Subscription.modify(
        subscription,
        items=items,
        proration_behavior="create_prorations",
        proration_date=proration_date,
        idempotency_key=f"subscription_prices:{key}",
    )


def cancel_with_final_invoice(*, subscription: str) -> stripe.Subscription:
    """Cancel now with a final invoice: the usage to this moment and the pending items, less a
    credit for the fixed prices' unused time. (A DELETE, which Stripe keeps idempotent itself:
    a second one is refused, so the caller looks before it cancels.)"""
    _configure()
    return stripe.Subscription.cancel(subscription, invoice_now=True, prorate=True)


def send_meter_event(
    *, event_name: str, identifier: str, customer: str, value: int, timestamp: int
) -> stripe.billing.MeterEvent:
    _configure()
    return stripe.billing.MeterEvent.create(
        event_name=event_name,
        identifier=identifier,
        payload={"stripe_customer_id": customer, "value": str(value)},
        timestamp=timestamp,
        idempotency_key=f"meter_event:{identifier}",
    )


def meter_event_summaries(
    *, meter: str, customer: str, start_time: int, end_time: int
) -> list[stripe.billing.MeterEventSummary]:
    _configure()
    return list(
        stripe.billing.Meter.list_event_summaries(
            meter,
            customer=customer,
            start_time=start_time,
            end_time=end_time,
            value_grouping_window="day",
            limit=100,
        ).auto_paging_iter()
    )


def retrieve_invoice(invoice_id: str) -> stripe.Invoice:
    _configure()
    return stripe.Invoice.retrieve(invoice_id)


def verify_webhook(payload: bytes, signature: str, secrets: list[str]) -> stripe.Event:
    """The event, if any of the secrets signed it within Stripe's 300 s tolerance."""
    failures: list[Exception] = []
    for secret in secrets:
        try:
            return stripe.Webhook.construct_event(payload, signature, secret, tolerance=300)
        except SignatureVerificationError as refused:
            failures.append(refused)
    # Say why the current secret refused it (a stale timestamp, or no matching signature).
    raise failures[0] if failures else SignatureVerificationError("No secret is set", signature)


def retrieve_customer(customer_id: str) -> stripe.Customer | None:
    """The customer, or None if Stripe has no such customer (resource_missing)."""
    _configure()
    try:
        return stripe.Customer.retrieve(customer_id)
    except stripe.InvalidRequestError as refused:
        if refused.code == "resource_missing":
            return None
        raise


def vat_on(net_pence: int, percentage: int = 20) -> int:
    """The VAT Stripe adds to a line of `net_pence` at an exclusive rate (rounded half up)."""
    return (net_pence * percentage * 2 + 100) // 200


def add_invoice_item(
    *, key: str, customer: str, net_pence: int, description: str, tax_rate: str
) -> stripe.InvoiceItem:
    """A line (negative for a credit) on the customer's next invoice, VAT added by Stripe."""
    _configure()
    return stripe.InvoiceItem.create(
        customer=customer,
        amount=net_pence,
        currency="gbp",
        description=description,
        tax_rates=[tax_rate],
        idempotency_key=f"invoice_item:{key}",
    )


def credit_paid_invoice(
    *, key: str, invoice: str, net_pence: int, description: str, tax_rate: str
) -> stripe.CreditNote:
    """A credit note against a paid invoice, its total (with VAT) to the customer's balance,
    where Stripe takes it off their next invoice."""
    _configure()
    return stripe.CreditNote.create(
        invoice=invoice,
        lines=[
            {
                "type": "custom_line_item",
                "description": description,
                "quantity": 1,
                "unit_amount": net_pence,
                "tax_rates": [tax_rate],
            }
        ],
        credit_amount=net_pence + vat_on(net_pence),
        reason="order_change",
        idempotency_key=f"credit_note:{key}",
    )
