"""A council closed mid-period: its usage to the day of closing reaches Stripe, then Stripe
cancels the subscription with a final invoice (the usage to that moment, less a credit for the
fixed share's unused days)."""

from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from billing import stripe_gateway
from billing.actions import metering
from billing.models import BillingAccount, Invoice
from tenants.audit.recording import record_audit
from tenants.models import Council


def close_billing_account(
    *, council: Council, acting_user: Any, closed_on: date | None = None
) -> Invoice | None:
    """Run once the council is closing (its hosts no longer answer, so its usage is final).
    Safe to run again: a subscription already cancelled is not cancelled twice, and its final
    invoice is found rather than made again. Returns the final invoice (None if never billed)."""
    closed_on = closed_on or timezone.localdate()
    account = BillingAccount.objects.filter(council=council).first()
    if account is None or not account.stripe_subscription_id:
        return None
    # The closing day's usage too: receipts taken today before the hosts closed are billed.
    metering.meter_council(council, closed_on)
    subscription = stripe_gateway.retrieve_subscription(account.stripe_subscription_id)
    if subscription.status != "canceled":
        subscription = stripe_gateway.cancel_with_final_invoice(
            subscription=account.stripe_subscription_id
        )
    latest = subscription.latest_invoice
    final_id = latest if isinstance(latest, str) else getattr(latest, "id", None)
    final = stripe_gateway.retrieve_invoice(final_id) if final_id else None
    with transaction.atomic():
        before = {"subscription_status": account.subscription_status}
        BillingAccount.objects.filter(pk=account.pk).update(subscription_status="canceled")
        invoice = _keep_final_invoice(account, final) if final is not None else None
        record_audit(
            "billing.account_closed",
            acting_user=acting_user,
            target=account,
            before=before,
            after={
                "subscription_status": "canceled",
                "closed_on": closed_on.isoformat(),
                "final_invoice": final.id if final is not None else None,
                "amount_due_pence": final.amount_due if final is not None else 0,
            },
        )
    return invoice


def _keep_final_invoice(account: BillingAccount, final: Any) -> Invoice:
    """The final invoice as Stripe answered it; its webhooks (newer state) update it later."""
    invoice, _ = Invoice.objects.get_or_create(
        stripe_id=final.id,
        defaults={
            "account": account,
            "number": final.number or "",
            "status": final.status,
            "amount_due_pence": final.amount_due,
            "amount_paid_pence": final.amount_paid,
            "hosted_invoice_url": final.hosted_invoice_url or "",
            "invoice_pdf": final.invoice_pdf or "",
            "due_date": final.due_date,
            "stripe_created": final.created,
            # Any event about it is newer than this answer.
            "event_at": 0,
        },
    )
    return invoice
