"""Billing's background work. Platform tasks (public schema): each names the council it is for.

They are sent from the platform host (the console, Stripe's webhook) without a council, so they
are `TenantTask`s, which run in the schema they were sent from (the public one); the app's
default, CouncilTask, would refuse them. The daily ones that beat sends per council are
CouncilTasks.
"""

from datetime import date, timedelta

from celery import shared_task
from django.db import connection
from django.utils import timezone
from tenant_schemas_celery.task import TenantTask

from billing.actions import (
    account_closing,
    customers,
    metering,
    overdue,
    price_changes,
    webhooks,
)
from billing.stripe_gateway import StripeError
from tenants.council_task import CouncilTask
from tenants.models import Council

# An event for a customer whose creation has not committed yet is tried again a while later.
WAITING_RETRY_SECONDS = 60


@shared_task(name="billing.create_customer", base=TenantTask, acks_late=True,
             autoretry_for=(Exception,),
             retry_backoff=True, max_retries=8)  # fmt: skip
def create_customer(council_id: int) -> None:
    customers.create_customer(council_id=council_id)


@shared_task(name="billing.apply_stripe_event", base=TenantTask, acks_late=True, bind=True,
             max_retries=30)  # fmt: skip
def apply_stripe_event(self, event_id: str) -> str:  # type: ignore[no-untyped-def]
    outcome = webhooks.apply(event_id)
    if outcome == webhooks.WAITING_FOR_CUSTOMER:
        raise self.retry(countdown=WAITING_RETRY_SECONDS)
    return outcome


@shared_task(name="billing.meter_council", base=TenantTask, acks_late=True,
             autoretry_for=(Exception,),
             retry_backoff=True, max_retries=6)  # fmt: skip
def meter_council(council_id: int, day: str) -> int:
    return metering.meter_council(Council.objects.get(pk=council_id), date.fromisoformat(day))


@shared_task(name="billing.meter_usage_daily", base=CouncilTask, acks_late=True,
             autoretry_for=(StripeError,), retry_backoff=60, max_retries=6)  # fmt: skip
def meter_usage_daily() -> int:
    """The daily run, sent by beat once per council in that council's schema: yesterday's
    usage (and any day a failed run left behind) into the ledger and to Stripe."""
    council = Council.objects.get(schema_name=connection.schema_name)
    return metering.meter_council(council, timezone.localdate() - timedelta(days=1))


@shared_task(name="billing.overdue_reminders_daily", base=CouncilTask, acks_late=True)
def overdue_reminders_daily() -> int:
    """Sent by beat once per council in its schema: remind it of invoices 7, 30 and 60 days
    overdue (each stage once, however often this runs)."""
    council = Council.objects.get(schema_name=connection.schema_name)
    return len(overdue.send_overdue_reminders(council))


@shared_task(name="billing.close_account", base=TenantTask, acks_late=True,
             autoretry_for=(StripeError,),
             retry_backoff=True, max_retries=8)  # fmt: skip
def close_account(council_id: int, acting_user_id: int | None = None) -> str:
    """Sent by the console when an operator closes a council (after commit)."""
    from tenants.models import User

    acting_user = User.objects.filter(pk=acting_user_id).first() if acting_user_id else None
    final = account_closing.close_billing_account(
        council=Council.objects.get(pk=council_id), acting_user=acting_user
    )
    return final.stripe_id if final is not None else ""


@shared_task(name="billing.move_to_current_prices_daily", base=CouncilTask, acks_late=True,
             autoretry_for=(StripeError,), retry_backoff=60, max_retries=6)  # fmt: skip
def move_to_current_prices_daily() -> dict[str, list[str]]:
    """Sent by beat once per council in its schema, after the day's metering: a price that
    takes effect today replaces the old one on the council's subscription."""
    council = Council.objects.get(schema_name=connection.schema_name)
    return price_changes.move_to_current_prices(council=council, acting_user=None)
