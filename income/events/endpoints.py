"""A council admin's actions on event endpoints: add one (its signing secret shown once),
pause and resume it, and send a delivery again."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from income.events.addresses import check_endpoint_url
from income.events.outbox import nudge_worker_on_commit
from income.events.signing import new_secret
from income.models import DeliveryStatus, EventDelivery, EventEndpoint, EventType
from tenants.audit.recording import record_audit
from tenants.capabilities import Capability, require_council_capability
from tenants.models import Council, User
from tenants.secrets_at_rest import encrypt, last_characters


@dataclass(frozen=True)
class NewEndpoint:
    endpoint: EventEndpoint
    secret: str  # shown once, never stored in the clear


@transaction.atomic
def add_endpoint(
    *, council: Council, url: str, event_types: list[str], description: str, acting_user: User
) -> NewEndpoint:
    require_council_capability(acting_user, council, Capability.MANAGE_INTEGRATIONS)
    url = check_endpoint_url(url)
    unknown = set(event_types) - set(EventType.values)
    if not event_types or unknown:
        raise ValidationError("Choose at least one of the events listed.")
    if EventEndpoint.objects.filter(url=url).exists():
        raise ValidationError("That address is already an endpoint: change its events instead.")
    secret = new_secret()
    endpoint = EventEndpoint.objects.create(
        url=url,
        description=description.strip()[:200],
        event_types=sorted(set(event_types)),
        secret_encrypted=encrypt(secret),
        secret_last_characters=last_characters(secret),
        created_by_id=acting_user.pk,
    )
    record_audit(
        "events.endpoint_added",
        acting_user=acting_user,
        target=endpoint,
        after={"url": url, "event_types": endpoint.event_types},
    )
    return NewEndpoint(endpoint, secret)


@transaction.atomic
def set_endpoint_paused(
    *, council: Council, endpoint: EventEndpoint, paused: bool, acting_user: User
) -> EventEndpoint:
    """Pause an endpoint (its events wait) or resume it (what waited is sent now)."""
    require_council_capability(acting_user, council, Capability.MANAGE_INTEGRATIONS)
    endpoint = EventEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    if paused:
        endpoint.is_active, endpoint.paused_at = False, timezone.now()
        endpoint.paused_reason = f"Paused by {acting_user.email}."
    else:
        endpoint.is_active, endpoint.paused_at, endpoint.paused_reason = True, None, ""
        endpoint.failing_since = None
        endpoint.deliveries.filter(status=DeliveryStatus.PENDING).update(
            next_attempt_at=timezone.now()
        )
        nudge_worker_on_commit()
    endpoint.save()
    record_audit(
        "events.endpoint_paused" if paused else "events.endpoint_resumed",
        acting_user=acting_user,
        target=endpoint,
    )
    return endpoint


@transaction.atomic
def resend_delivery(*, council: Council, delivery: EventDelivery, acting_user: User) -> None:
    """Send an event to its endpoint again now (delivered, given up or waiting alike)."""
    require_council_capability(acting_user, council, Capability.MANAGE_INTEGRATIONS)
    delivery = (
        EventDelivery.objects.select_for_update().select_related("endpoint").get(pk=delivery.pk)
    )
    if not delivery.endpoint.is_active:
        raise ValidationError("This endpoint is paused: resume it to send events to it again.")
    delivery.status = DeliveryStatus.PENDING
    delivery.next_attempt_at = timezone.now()
    delivery.resend_requested_by_email = acting_user.email
    delivery.save(update_fields=["status", "next_attempt_at", "resend_requested_by_email"])
    record_audit("events.delivery_resent", acting_user=acting_user, target=delivery)
    nudge_worker_on_commit()
