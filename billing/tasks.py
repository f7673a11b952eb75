"""Billing's background work. Platform tasks (public schema): each names the council it is for."""

from datetime import date, timedelta

from celery import shared_task
from django.utils import timezone

from billing.actions import customers, metering, webhooks
from tenants.models import Council, CouncilStatus

# An event for a customer whose creation has not committed yet is tried again a while later.
WAITING_RETRY_SECONDS = 60


@shared_task(name="billing.create_customer", acks_late=True, autoretry_for=(Exception,),
             retry_backoff=True, max_retries=8)  # fmt: skip
def create_customer(council_id: int) -> None:
    customers.create_customer(council_id=council_id)


@shared_task(name="billing.apply_stripe_event", acks_late=True, bind=True, max_retries=30)
def apply_stripe_event(self, event_id: str) -> str:  # type: ignore[no-untyped-def]
    outcome = webhooks.apply(event_id)
    if outcome == webhooks.WAITING_FOR_CUSTOMER:
        raise self.retry(countdown=WAITING_RETRY_SECONDS)
    return outcome


@shared_task(name="billing.meter_council", acks_late=True, autoretry_for=(Exception,),
             retry_backoff=True, max_retries=6)  # fmt: skip
def meter_council(council_id: int, day: str) -> int:
    return metering.meter_council(Council.objects.get(pk=council_id), date.fromisoformat(day))


@shared_task(name="billing.meter_all_councils")
def meter_all_councils() -> None:
    """The daily fan-out: one task per council for yesterday."""
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
    for council_id in Council.objects.filter(
        status__in=[CouncilStatus.ACTIVE, CouncilStatus.SUSPENDED]
    ).values_list("pk", flat=True):
        meter_council.delay(council_id, yesterday)
