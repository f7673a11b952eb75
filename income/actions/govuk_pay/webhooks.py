"""GOV.UK Pay's webhooks: verified, stored once in the inbox, applied in order by the worker."""

import json
import logging
import time
from dataclasses import dataclass

from django.db import connection as db_connection
from django.db import transaction
from django.utils import timezone
from psycopg import sql

from income.actions.govuk_pay.payments import apply_payment_resource
from income.actions.govuk_pay.refunds import refresh_card_refund
from income.govuk_pay.connections import webhook_secrets
from income.govuk_pay.json_body import load_message
from income.govuk_pay.scrub import without_cardholder_data
from income.govuk_pay.signature import matching_secret
from income.models import (
    CardRefundStatus,
    GovukPayPayment,
    GovukPayWebhookMessage,
    WebhookOutcome,
)
from tenants.council_task import send_on_commit
from tenants.models import User

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WebhookIntake:
    status: int  # the HTTP status to answer
    message_pk: int | None = None  # the inbox row, if this message was new


REQUIRED_WEBHOOK_FIELDS = ("webhook_message_id", "resource_id", "resource_type", "event_type")


def receive_webhook(*, body: bytes, signature: str, acting_user: None = None) -> WebhookIntake:
    """Check the signature against the council's secrets, store the message once (card and
    cardholder data dropped first), and have it applied after commit. Answer at once.

    A wrong signature is refused (401) and nothing is stored; a replayed message id is
    answered 200 and changes nothing.
    """
    secrets_by_connection = webhook_secrets()
    secret = matching_secret(body, signature, [s for _pk, s in secrets_by_connection])
    if secret is None:
        return WebhookIntake(401)
    connection_pk = next(pk for pk, s in secrets_by_connection if s == secret)
    try:
        message = load_message(body)
    except ValueError:  # not JSON, or nested deeper than any real message
        return WebhookIntake(400)
    if not isinstance(message, dict) or not all(
        isinstance(message.get(name), str) and message.get(name) for name in REQUIRED_WEBHOOK_FIELDS
    ):
        return WebhookIntake(400)
    stored = without_cardholder_data(message)
    message_pk = _insert_inbox_message(
        webhook_message_id=message["webhook_message_id"][:100],
        connection_pk=connection_pk,
        event_type=message["event_type"][:50],
        resource_id=message["resource_id"][:64],
        body=json.dumps(stored),
    )
    if message_pk is not None:
        _schedule_inbox_drain()
    return WebhookIntake(200, message_pk)


_INSERT_MESSAGE = sql.SQL(
    """
    WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true))
    INSERT INTO {table}
        (webhook_message_id, connection_id, event_type, resource_id, body, received_at, outcome)
    SELECT %s, %s, %s, %s, %s::jsonb, now(), 'pending' FROM relaxed
    ON CONFLICT (webhook_message_id) DO NOTHING
    RETURNING id
    """
)


def _insert_inbox_message(
    *, webhook_message_id: str, connection_pk: int, event_type: str, resource_id: str, body: str
) -> int | None:
    """One statement, one round trip: the inbox row, or None if the message id was seen.

    The table is named with the council's schema (a name we generate, never user input), on
    the driver's own cursor, so no `SET search_path` round trip precedes it. The commit does
    not wait for the disk (`synchronous_commit` off for this statement only): a crash can lose
    at most the last moment's acknowledged messages, and nothing the mop-up does not restore;
    it can never half-store one.
    """
    db_connection.ensure_connection()
    table = sql.Identifier(db_connection.schema_name, "income_govukpaywebhookmessage")
    with db_connection.connection.cursor() as cursor:
        cursor.execute(
            _INSERT_MESSAGE.format(table=table),
            [webhook_message_id, connection_pk, event_type, resource_id, body],
        )
        row = cursor.fetchone()
    return row[0] if row else None


# Applying is coalesced: at most one drain task per council per process each window, sent
# after the commit and run a window later, so it finds every message this process stored
# meanwhile. (A publish per webhook cost more than the rest of the intake.) The mop-up drains
# the inbox too, so nothing waits long even if a drain is lost.
DRAIN_WINDOW_SECONDS = 1.0
_next_drain_at: dict[str, float] = {}


def _schedule_inbox_drain() -> None:
    schema = db_connection.schema_name
    now = time.monotonic()
    if _next_drain_at.get(schema, 0.0) > now:
        return
    _next_drain_at[schema] = now + DRAIN_WINDOW_SECONDS
    send_on_commit("income.govuk_pay_apply_inbox", countdown=DRAIN_WINDOW_SECONDS)


def forget_scheduled_drains() -> None:
    """This process forgets which drains it has sent (for tests, which reuse schema names)."""
    _next_drain_at.clear()


def apply_inbox(*, acting_user: User | None = None, limit: int = 1000) -> int:
    """Apply every pending inbox message, oldest first; returns how many were applied."""
    pending = list(
        GovukPayWebhookMessage.objects.filter(outcome=WebhookOutcome.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    for message_pk in pending:
        apply_webhook_message(message_pk=message_pk, acting_user=acting_user)
    return len(pending)


def apply_webhook_message(*, message_pk: int, acting_user: User | None = None) -> str:
    """Apply one inbox message; idempotent (an applied message is not applied again)."""
    with transaction.atomic():
        message = (
            GovukPayWebhookMessage.objects.select_for_update()
            .select_related("connection")
            .filter(pk=message_pk)
            .first()
        )
        if message is None or message.outcome != WebhookOutcome.PENDING:
            return message.outcome if message else WebhookOutcome.IGNORED
        resource = message.body.get("resource")
        if (
            message.body.get("resource_type") != "payment"
            or not isinstance(resource, dict)
            or resource.get("payment_id") != message.resource_id
        ):
            outcome = WebhookOutcome.IGNORED
        else:
            outcome = apply_payment_resource(
                connection=message.connection, resource=resource, acting_user=acting_user
            )
        message.outcome = outcome
        message.applied_at = timezone.now()
        message.save(update_fields=["outcome", "applied_at"])
        payment = (
            GovukPayPayment.objects.filter(
                connection=message.connection, payment_id=message.resource_id
            ).first()
            if message.event_type == "card_payment_refunded"
            else None
        )
    if payment is not None:
        for card_refund in payment.refunds.filter(status=CardRefundStatus.SUBMITTED):
            refresh_card_refund(card_refund_pk=card_refund.pk, acting_user=acting_user)
    return outcome
