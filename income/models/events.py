"""Event notifications (outbound webhooks): the endpoints a council registers, the outbox of
events written in the same transaction as the change, one delivery per event and endpoint,
and every attempt to send it (income.events)."""

import uuid

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone


class EventType(models.TextChoices):
    RECEIPT_CREATED = "receipt.created", "A receipt is recorded"
    RECEIPT_REVERSED = "receipt.reversed", "A receipt is reversed"
    REFUND_PAID = "refund.paid", "A refund is paid"
    IMPORT_COMPLETED = "import.completed", "A payment file is imported"
    EXPORT_MADE = "export.made", "An export file is made"
    SUSPENSE_ALLOCATED = "suspense.allocated", "Money is allocated from suspense"


class EventEndpoint(models.Model):
    """An address of the council's own systems that is told of the events it subscribes to."""

    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    event_types = ArrayField(models.CharField(max_length=40, choices=EventType.choices))
    # The signing secret (a Fernet token, tenants.secrets_at_rest): shown once, when made.
    secret_encrypted = models.TextField()
    secret_last_characters = models.CharField(max_length=8, blank=True)
    is_active = models.BooleanField(default=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_reason = models.CharField(max_length=300, blank=True)
    # Since when every attempt has failed (None: the last one succeeded, or none yet).
    failing_since = models.DateTimeField(null=True, blank=True)
    created_by_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["url", "pk"]

    def __str__(self) -> str:
        return self.url


class OutboxEvent(models.Model):
    """One thing that happened, recorded with the change itself (never before its commit)."""

    event_id = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    event_type = models.CharField(max_length=40, choices=EventType.choices)
    data = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Given up"


class EventDelivery(models.Model):
    """One event for one endpoint: sent until the endpoint answers 2xx, or for 3 days."""

    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(EventEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(
        max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    # When a worker may (next) send it. A worker that claims it moves this on by a lease, so a
    # worker that dies mid-send leaves it to be sent again when the lease runs out.
    next_attempt_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_outcome = models.CharField(max_length=300, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # Who asked for it to be sent again (cleared when the next attempt records it).
    resend_requested_by_email = models.CharField(max_length=254, blank=True)

    class Meta:
        ordering = ["-pk"]
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="one_delivery_per_endpoint")
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="event_delivery_due",
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_id} to {self.endpoint_id}: {self.status}"


class DeliveryAttempt(models.Model):
    """One POST of a delivery, whatever came of it."""

    delivery = models.ForeignKey(EventDelivery, on_delete=models.CASCADE, related_name="tries")
    attempted_at = models.DateTimeField(default=timezone.now)
    succeeded = models.BooleanField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=300)
    duration_ms = models.PositiveIntegerField(default=0)
    # Asked for again by a person (the delivery log's "Resend"), rather than scheduled.
    resent_by_email = models.CharField(max_length=254, blank=True)

    class Meta:
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"{self.attempted_at:%Y-%m-%d %H:%M:%S} {self.outcome}"
