"""Sending deliveries: claimed by a worker for a while (a lease), POSTed with httpx, each
attempt recorded; retried with exponential backoff for EVENT_RETRY_FOR_SECONDS (3 days); an
endpoint failing for EVENT_PAUSE_AFTER_SECONDS (a day) is paused and its admins told.

At least once: a worker that dies mid-send leaves its claimed deliveries to be sent again when
the lease runs out, so a receiver may see an event twice and should ignore an `id` it has seen.
"""

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from income.events.addresses import insecure_endpoints_allowed, refuse_private_host
from income.events.notices import tell_admins_endpoint_paused
from income.events.signing import SIGNATURE_HEADER, signature_header
from income.models import (
    DeliveryAttempt,
    DeliveryStatus,
    EventDelivery,
    EventEndpoint,
)
from tenants.secrets_at_rest import decrypt

BATCH = 200
USER_AGENT = "Counterfoil-Events/1"


@dataclass(frozen=True)
class Outcome:
    succeeded: bool
    status_code: int | None
    text: str
    duration_ms: int


def body_of(delivery: EventDelivery) -> bytes:
    event = delivery.event
    document = {
        "id": str(event.event_id),
        "type": event.event_type,
        "created": event.created_at.isoformat(),
        "data": event.data,
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def deliver_due(*, limit: int | None = None, client: httpx.Client | None = None) -> int:
    """Send every delivery due now in this council's schema (claimed a batch at a time, so
    workers side by side share them); return how many were attempted."""
    sent = 0
    own_client = client is None
    client = client or new_client()
    try:
        while limit is None or sent < limit:
            batch = claim(BATCH if limit is None else min(BATCH, limit - sent))
            if not batch:
                break
            send_batch(batch, client)
            sent += len(batch)
    finally:
        if own_client:
            client.close()
    return sent


def new_client() -> httpx.Client:
    return httpx.Client(
        timeout=settings.EVENT_DELIVERY_TIMEOUT_SECONDS,
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT, "Content-Type": "application/json"},
    )


def claim(size: int) -> list[EventDelivery]:
    """Take up to `size` due deliveries of active endpoints for EVENT_CLAIM_SECONDS."""
    now = timezone.now()
    lease = now + timedelta(seconds=settings.EVENT_CLAIM_SECONDS)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE income_eventdelivery AS d SET next_attempt_at = %s
            WHERE d.id IN (
                SELECT d2.id FROM income_eventdelivery d2
                JOIN income_eventendpoint e ON e.id = d2.endpoint_id
                WHERE d2.status = 'pending' AND d2.next_attempt_at <= %s AND e.is_active
                ORDER BY d2.next_attempt_at, d2.id
                LIMIT %s
                FOR UPDATE OF d2 SKIP LOCKED
            )
            RETURNING d.id
            """,
            [lease, now, size],
        )
        ids = [row[0] for row in cursor.fetchall()]
    if not ids:
        return []
    return list(
        EventDelivery.objects.filter(pk__in=ids).select_related("event", "endpoint").order_by("pk")
    )


def send_batch(batch: list[EventDelivery], client: httpx.Client) -> None:
    """POST a claimed batch, EVENT_DELIVERY_CONCURRENCY at a time (the httpx client's pool
    keeps their connections open), then record every outcome in one transaction."""
    secrets = {
        delivery.endpoint_id: decrypt(delivery.endpoint.secret_encrypted) for delivery in batch
    }

    def send(delivery: EventDelivery) -> tuple[EventDelivery, Outcome, datetime]:
        at = timezone.now()
        return delivery, send_one(client, delivery, secrets[delivery.endpoint_id]), at

    workers = max(1, settings.EVENT_DELIVERY_CONCURRENCY)
    if workers == 1 or len(batch) == 1:
        results = [send(delivery) for delivery in batch]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(send, batch))
    record(results)


def send_one(client: httpx.Client, delivery: EventDelivery, secret: str) -> Outcome:
    url = delivery.endpoint.url
    began = time.perf_counter()

    def outcome(succeeded: bool, status: int | None, text: str) -> Outcome:
        elapsed = int((time.perf_counter() - began) * 1000)
        return Outcome(succeeded, status, text[:300], elapsed)

    if not insecure_endpoints_allowed():
        parts = httpx.URL(url)
        try:
            refuse_private_host(parts.host, parts.port or 443)
        except ValidationError as refusal:
            return outcome(False, None, f"Not sent: {refusal.messages[0]}")
    body = body_of(delivery)
    headers = {
        SIGNATURE_HEADER: signature_header(secret, body),
        "Counterfoil-Event-Id": str(delivery.event.event_id),
        "Counterfoil-Event-Type": delivery.event.event_type,
    }
    try:
        response = client.post(url, content=body, headers=headers)
    except httpx.TimeoutException:
        return outcome(False, None, f"No answer within {client.timeout.read:g} seconds.")
    except httpx.HTTPError as error:
        return outcome(False, None, f"Could not connect: {error or type(error).__name__}")
    status = response.status_code
    if 200 <= status < 300:
        return outcome(True, status, f"{status} {response.reason_phrase}".strip())
    if response.is_redirect:
        location = response.headers.get("location", "")
        return outcome(
            False,
            status,
            f"{status}: redirected to {location} (redirects are not followed: "
            "register the address it redirects to).",
        )
    return outcome(False, status, f"{status} {response.reason_phrase}".strip())


def retry_delay(attempts: int) -> timedelta:
    """After the n-th failed attempt: 1, 2, 4... minutes, never more than 6 hours."""
    first = settings.EVENT_RETRY_FIRST_SECONDS
    seconds = first * 2 ** min(attempts - 1, 30)
    return timedelta(seconds=min(seconds, settings.EVENT_RETRY_LONGEST_SECONDS))


def record(results: list[tuple[EventDelivery, Outcome, datetime]]) -> None:
    """Write each attempt and move each delivery (and its endpoint) on, in one transaction."""
    give_up_after = timedelta(seconds=settings.EVENT_RETRY_FOR_SECONDS)
    now = timezone.now()
    attempts, changed = [], []
    succeeded_endpoints: set[int] = set()
    failed_endpoints: dict[int, datetime] = {}
    for delivery, outcome, at in results:
        attempts.append(
            DeliveryAttempt(
                delivery=delivery,
                attempted_at=at,
                succeeded=outcome.succeeded,
                status_code=outcome.status_code,
                outcome=outcome.text,
                duration_ms=outcome.duration_ms,
                resent_by_email=delivery.resend_requested_by_email,
            )
        )
        delivery.attempts += 1
        delivery.last_attempt_at = at
        delivery.last_outcome = outcome.text
        delivery.resend_requested_by_email = ""
        if outcome.succeeded:
            delivery.status = DeliveryStatus.DELIVERED
            delivery.delivered_at = at
            succeeded_endpoints.add(delivery.endpoint_id)
        else:
            failed_endpoints.setdefault(delivery.endpoint_id, at)
            next_at = now + retry_delay(delivery.attempts)
            if next_at - delivery.event.created_at > give_up_after:
                delivery.status = DeliveryStatus.FAILED
                delivery.last_outcome = f"Given up after 3 days: {outcome.text}"[:300]
            delivery.next_attempt_at = next_at
        changed.append(delivery)
    with transaction.atomic():
        DeliveryAttempt.objects.bulk_create(attempts)
        _update_deliveries(changed)
        EventEndpoint.objects.filter(
            pk__in=succeeded_endpoints, failing_since__isnull=False
        ).update(failing_since=None)
        for endpoint_id, since in failed_endpoints.items():
            if endpoint_id not in succeeded_endpoints:
                _note_failure(endpoint_id, since)


def _update_deliveries(changed: list[EventDelivery]) -> None:
    # One statement for the batch (Django's bulk_update builds a CASE per column and row).
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE income_eventdelivery AS d
            SET status = v.status, attempts = v.attempts, last_attempt_at = v.last_attempt_at,
                last_outcome = v.last_outcome, delivered_at = v.delivered_at,
                next_attempt_at = v.next_attempt_at, resend_requested_by_email = ''
            FROM unnest(
                %s::bigint[], %s::text[], %s::integer[], %s::timestamptz[], %s::text[],
                %s::timestamptz[], %s::timestamptz[]
            ) AS v(id, status, attempts, last_attempt_at, last_outcome, delivered_at,
                   next_attempt_at)
            WHERE d.id = v.id
            """,
            [
                [d.pk for d in changed],
                [d.status for d in changed],
                [d.attempts for d in changed],
                [d.last_attempt_at for d in changed],
                [d.last_outcome for d in changed],
                [d.delivered_at for d in changed],
                [d.next_attempt_at for d in changed],
            ],
        )


def _note_failure(endpoint_id: int, at: datetime) -> None:
    endpoint = EventEndpoint.objects.select_for_update().get(pk=endpoint_id)
    if endpoint.failing_since is None:
        endpoint.failing_since = at
        endpoint.save(update_fields=["failing_since"])
        return
    pause_after = timedelta(seconds=settings.EVENT_PAUSE_AFTER_SECONDS)
    if endpoint.is_active and at - endpoint.failing_since >= pause_after:
        hours = (at - endpoint.failing_since).total_seconds() / 3600
        EventEndpoint.objects.filter(pk=endpoint.pk).update(
            is_active=False,
            paused_at=at,
            paused_reason=f"Paused: every delivery has failed for {hours:.0f} hours.",
        )
        endpoint.refresh_from_db()
        transaction.on_commit(lambda: tell_admins_endpoint_paused(endpoint))
