"""Stripe's webhooks: verified, kept once in the inbox, then applied in any order.

Stripe delivers at least once and in no particular order. Each event is kept once (unique on its
id); applying compares the invoice's status precedence and the event's time with the state held,
so a late, older event never overwrites newer state.
"""

import json
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing import stripe_gateway
from billing.models import BillingAccount, Invoice, StripeEvent

# How far along its life an invoice is: a lower status never replaces a higher one.
STATUS_RANK = {"draft": 0, "open": 1, "uncollectible": 2, "paid": 3, "void": 3}
INVOICE_EVENTS = {
    "invoice.finalized",
    "invoice.paid",
    "invoice.payment_failed",
    "invoice.overdue",
    "invoice.voided",
}
SUBSCRIPTION_EVENTS = {"customer.subscription.updated", "customer.subscription.deleted"}
WAITING_FOR_CUSTOMER = "waiting: no council has this customer yet"


class RefusedWebhook(Exception):
    """The request is not a genuine, fresh Stripe event."""


def receive(payload: bytes, signature: str) -> tuple[StripeEvent, bool]:
    """Verify and keep the event; whether it is new (a redelivery is kept only once)."""
    if not signature:
        raise RefusedWebhook("No Stripe-Signature header")
    try:
        event = stripe_gateway.verify_webhook(payload, signature, settings.STRIPE_WEBHOOK_SECRETS)
    except (stripe_gateway.SignatureVerificationError, ValueError) as refused:
        raise RefusedWebhook(f"Signature refused: {refused}") from refused
    body = json.loads(payload)
    try:
        with transaction.atomic():
            stored, created = StripeEvent.objects.get_or_create(
                event_id=event.id,
                defaults={"type": event.type, "created": event.created, "payload": body},
            )
    except IntegrityError:  # the same event, delivered twice at once
        return StripeEvent.objects.get(event_id=event.id), False
    return stored, created


def apply(event_id: str) -> str:
    """Apply one stored event (again, harmlessly, if it already was); what became of it."""
    with transaction.atomic():
        stored = StripeEvent.objects.select_for_update().get(event_id=event_id)
        if stored.applied_at is not None:
            return stored.outcome
        obj = stored.payload["data"]["object"]
        if stored.type in INVOICE_EVENTS:
            outcome = _apply_invoice(stored.type, stored.created, obj)
        elif stored.type in SUBSCRIPTION_EVENTS:
            outcome = _apply_subscription(stored.type, stored.created, obj)
        else:
            outcome = "ignored: not an event billing follows"
        stored.outcome = outcome
        if outcome != WAITING_FOR_CUSTOMER:
            stored.applied_at = timezone.now()
        stored.save(update_fields=["outcome", "applied_at"])
        return outcome


def _account(customer_id: str) -> BillingAccount | None:
    return BillingAccount.objects.select_for_update().filter(stripe_customer_id=customer_id).first()


def _apply_invoice(event_type: str, created: int, obj: dict[str, Any]) -> str:
    account = _account(obj["customer"])
    if account is None:
        return WAITING_FOR_CUSTOMER
    invoice, _ = Invoice.objects.select_for_update().get_or_create(
        stripe_id=obj["id"], defaults={"account": account, "status": "draft", "event_at": 0}
    )
    status = {"invoice.paid": "paid", "invoice.voided": "void"}.get(event_type, obj["status"])
    held, incoming = STATUS_RANK.get(invoice.status, 0), STATUS_RANK.get(status, 0)
    newer = incoming > held or (incoming == held and created >= invoice.event_at)
    if not newer:
        return f"ignored: {invoice.status} is newer than this {status}"
    invoice.status = status
    invoice.event_at = created
    invoice.number = obj.get("number") or invoice.number
    invoice.amount_due_pence = obj.get("amount_due") or 0
    invoice.amount_paid_pence = obj.get("amount_paid") or 0
    invoice.hosted_invoice_url = obj.get("hosted_invoice_url") or ""
    invoice.invoice_pdf = obj.get("invoice_pdf") or ""
    invoice.due_date = obj.get("due_date")
    invoice.stripe_created = obj.get("created") or 0
    still_open = status == "open"
    invoice.overdue = still_open and (invoice.overdue or event_type == "invoice.overdue")
    invoice.payment_failed = still_open and (
        invoice.payment_failed or event_type == "invoice.payment_failed"
    )
    invoice.save()
    return f"invoice {invoice.stripe_id} is {status}"


def _apply_subscription(event_type: str, created: int, obj: dict[str, Any]) -> str:
    account = _account(obj["customer"])
    if account is None:
        return WAITING_FOR_CUSTOMER
    status = "canceled" if event_type == "customer.subscription.deleted" else obj["status"]
    if account.subscription_status == "canceled" and status != "canceled":
        return "ignored: the subscription is already cancelled"
    if created < account.subscription_event_at:
        return f"ignored: {account.subscription_status} is newer than this {status}"
    account.subscription_status = status
    account.subscription_event_at = created
    account.save(update_fields=["subscription_status", "subscription_event_at"])
    return f"subscription {obj['id']} is {status}"


def waiting_events() -> list[str]:
    return list(
        StripeEvent.objects.filter(applied_at__isnull=True).values_list("event_id", flat=True)
    )
