"""Usage metering: each council's daily counts into our ledger, then to Stripe's meters.

The counts come from the council's own schema, one query per meter (never a call per receipt),
so recording a receipt does no billing work at all.
"""

import math
from datetime import UTC, date, datetime, time, timedelta

from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from billing import stripe_gateway
from billing.actions.price_book import METERS, current_prices
from billing.models import BillingAccount, Meter, PriceKind, UsageRecord
from income.models import ExportRun, ImportBatch, Receipt
from tenants.models import Council

# Stripe keeps meter events only this far back: older days can no longer be sent.
STRIPE_METER_WINDOW_DAYS = 35
GB = 1024**3


def count_usage(council: Council, day: date) -> dict[str, int]:
    """The day's receipts (every channel) and the bytes stored at its end, from the council's
    schema, in one statement (one round trip: it runs for every council every day)."""
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)
    with schema_context(council.schema_name), connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT count(*) FROM {Receipt._meta.db_table} WHERE received_on = %s),"  # noqa: S608
            f" (SELECT coalesce(sum(size_bytes), 0) FROM {ImportBatch._meta.db_table}"
            f"  WHERE uploaded_at < %s)"
            f" + (SELECT coalesce(sum(size_bytes), 0) FROM {ExportRun._meta.db_table}"
            f"  WHERE created_at < %s)",
            [day, end, end],
        )
        receipts, stored = cursor.fetchone()
    # str(): the meters' values (the choices are typed as tuples without Django's stubs).
    return {str(Meter.TRANSACTIONS): int(receipts), str(Meter.STORED_BYTES): int(stored)}


def record_usage(council: Council, day: date) -> list[UsageRecord]:
    """Count a day into the usage ledger. A day already sent to Stripe is kept as sent."""
    records = []
    for meter, quantity in count_usage(council, day).items():
        record, created = UsageRecord.objects.get_or_create(
            council=council, day=day, meter=meter, defaults={"quantity": quantity}
        )
        if not created and record.sent_at is None and record.quantity != quantity:
            UsageRecord.objects.filter(pk=record.pk).update(quantity=quantity)
            record.quantity = quantity
        records.append(record)
    return records


def meter_identifier(council: Council, day: date, meter: str) -> str:
    return f"{council.schema_name}:{day.isoformat()}:{meter}"


def stripe_value(record: UsageRecord, allowance_gb: int) -> int:
    """What Stripe's meter is told: transactions as counted; storage as whole GB (rounded up)
    above the allowance."""
    if record.meter == Meter.TRANSACTIONS:
        return record.quantity
    return max(0, math.ceil(record.quantity / GB) - allowance_gb)


def _allowance_gb(day: date) -> int:
    storage = [row for row in current_prices(day) if row.kind == PriceKind.STORAGE_GB]
    return storage[0].allowance_gb if storage else 0


def send_usage(council: Council, today: date | None = None) -> int:
    """Send every unsent day within Stripe's window; the number sent. A failure leaves the
    rest unsent for the next run, and the identifier makes a resend change nothing."""
    today = today or timezone.localdate()
    account = BillingAccount.objects.filter(council=council).first()
    if account is None or not account.stripe_customer_id:
        return 0
    oldest = today - timedelta(days=STRIPE_METER_WINDOW_DAYS - 1)
    sent = 0
    unsent = UsageRecord.objects.filter(council=council, sent_at__isnull=True, day__gte=oldest)
    for record in unsent.order_by("day", "meter"):
        kind = PriceKind.TRANSACTION if record.meter == Meter.TRANSACTIONS else PriceKind.STORAGE_GB
        midday = datetime.combine(record.day, time(12), tzinfo=UTC)
        timestamp = min(int(midday.timestamp()), int(timezone.now().timestamp()))
        if account.prices_effective_on and record.day >= account.prices_effective_on:
            # On the day prices changed, a midday timestamp before the afternoon's change
            # would fall between the old item's removal and the new one's start: unbilled.
            timestamp = max(timestamp, account.prices_changed_at)
        try:
            stripe_gateway.send_meter_event(
                event_name=METERS[kind][0],
                identifier=meter_identifier(council, record.day, record.meter),
                customer=account.stripe_customer_id,
                value=stripe_value(record, _allowance_gb(record.day)),
                timestamp=timestamp,
            )
        except stripe_gateway.StripeError as refused:
            # Stripe already has this identifier: an earlier run sent it and lost the answer.
            if getattr(refused, "code", None) != "duplicate_meter_event":
                raise
        UsageRecord.objects.filter(pk=record.pk).update(sent_at=timezone.now())
        sent += 1
    return sent


def meter_council(council: Council, day: date) -> int:
    """The daily run for one council: count every day since the last counted (at most Stripe's
    window back) up to `day`, then send what Stripe lacks."""
    last = (
        UsageRecord.objects.filter(council=council, day__lte=day)
        .order_by("-day")
        .values_list("day", flat=True)
        .first()
    )
    # The oldest day Stripe still takes when this runs (the day after `day`).
    start = day - timedelta(days=STRIPE_METER_WINDOW_DAYS - 2)
    if last is not None:
        start = max(start, last + timedelta(days=1))
    with transaction.atomic():
        current = start
        while current <= day:
            record_usage(council, current)
            current += timedelta(days=1)
    return send_usage(council, today=day + timedelta(days=1))


def reconcile(start: date, end: date) -> list[str]:
    """Every difference between our usage ledger and Stripe's meter event summaries."""
    differences = []
    meters = {
        kind: stripe_gateway.find_or_create_meter(event_name=name, display_name=label, formula=f)
        for kind, (name, label, f) in METERS.items()
    }
    start_ts = int(datetime.combine(start, time(), tzinfo=UTC).timestamp())
    end_ts = int(datetime.combine(end + timedelta(days=1), time(), tzinfo=UTC).timestamp())
    for account in BillingAccount.objects.exclude(stripe_customer_id="").select_related("council"):
        for meter, kind in ((Meter.TRANSACTIONS, PriceKind.TRANSACTION),
                            (Meter.STORED_BYTES, PriceKind.STORAGE_GB)):  # fmt: skip
            theirs = {
                datetime.fromtimestamp(summary.start_time, UTC).date(): summary.aggregated_value
                for summary in stripe_gateway.meter_event_summaries(
                    meter=meters[kind].id,
                    customer=account.stripe_customer_id,
                    start_time=start_ts,
                    end_time=end_ts,
                )
            }
            ours = {
                record.day: stripe_value(record, _allowance_gb(record.day))
                for record in UsageRecord.objects.filter(
                    council=account.council, meter=meter, day__range=(start, end)
                )
            }
            for day in sorted(set(ours) | set(theirs)):
                if ours.get(day, 0) != theirs.get(day, 0):
                    differences.append(
                        f"{account.council.schema_name} {day} {meter}: "
                        f"ours {ours.get(day, 0)}, Stripe {theirs.get(day, 0)}"
                    )
    return differences
