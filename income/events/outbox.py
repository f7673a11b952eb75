"""The outbox: each income action that makes a change calls one of these in its own
transaction, so an event exists exactly when its change committed. A delivery row is written
for each endpoint subscribed (none: nothing written), and the worker is nudged once the
transaction commits (never before: it could not see the rows yet, and might send news of a
change that is then rolled back)."""

from collections.abc import Callable, Iterable
from typing import Any

from django.db import connection, transaction

from income.models import (
    EventDelivery,
    EventEndpoint,
    EventType,
    ExportRun,
    ImportBatch,
    OutboxEvent,
    Receipt,
    Refund,
)

IMPORT_SUMMARY_FIELDS = (
    "lines_read",
    "receipts_created",
    "receipts_pence",
    "suspense_count",
    "suspense_pence",
    "unexplained_debits_count",
    "unexplained_debits_pence",
    "rejected_count",
    "duplicates_count",
)


def emit(event_type: str, data: Callable[[], dict[str, Any]]) -> OutboxEvent | None:
    """Record an event for every active endpoint subscribed to it; None when there is none
    (and then its data, which may need queries, is never made)."""
    endpoint_ids = list(
        EventEndpoint.objects.filter(is_active=True, event_types__contains=[event_type])
        .values_list("pk", flat=True)
    )  # fmt: skip
    if not endpoint_ids:
        return None
    event = OutboxEvent.objects.create(event_type=event_type, data=data())
    EventDelivery.objects.bulk_create(
        EventDelivery(event=event, endpoint_id=pk, next_attempt_at=event.created_at)
        for pk in endpoint_ids
    )
    nudge_worker_on_commit()
    return event


class _Nudge:
    """Sends the delivery task for one council's schema; one per transaction is enough."""

    def __init__(self, schema: str) -> None:
        self.schema = schema

    def __call__(self) -> None:
        # By name: the task module imports the actions that call the outbox.
        from celery import current_app

        from tenants.council_task import SCHEMA_HEADER

        current_app.send_task("income.deliver_events", headers={SCHEMA_HEADER: self.schema})


def nudge_worker_on_commit() -> None:
    schema = connection.schema_name
    pending = getattr(connection, "run_on_commit", [])
    if connection.in_atomic_block and any(
        isinstance(entry[1], _Nudge) and entry[1].schema == schema for entry in pending
    ):
        return
    transaction.on_commit(_Nudge(schema))


def _allocations(allocations: Iterable[Any]) -> list[dict[str, Any]]:
    return [
        {
            "fund": a.fund.code if a.fund else "SUSPENSE",
            "reference": a.reference,
            "amount_pence": a.amount_pence,
        }
        for a in allocations
    ]


def _receipt(receipt: Receipt) -> dict[str, Any]:
    return {
        "number": receipt.number,
        "amount_pence": receipt.amount_pence,
        "received_on": receipt.received_on.isoformat(),
        "channel": receipt.channel.code,
        "payer_reference": receipt.payer_reference,
        "status": receipt.status,
    }


def receipt_created(receipt: Receipt, allocations: Iterable[Any]) -> OutboxEvent | None:
    allocations = list(allocations)
    return emit(
        EventType.RECEIPT_CREATED,
        lambda: {"receipt": {**_receipt(receipt), "allocations": _allocations(allocations)}},
    )


def receipt_reversed(receipt: Receipt, *, reason: str) -> OutboxEvent | None:
    return emit(
        EventType.RECEIPT_REVERSED, lambda: {"receipt": _receipt(receipt), "reason": reason}
    )


def refund_paid(refund: Refund) -> OutboxEvent | None:
    return emit(
        EventType.REFUND_PAID,
        lambda: {
            "refund": {
                "id": refund.pk,
                "receipt": refund.receipt.number,
                "amount_pence": refund.amount_pence,
                "fund": refund.fund.code if refund.fund_id else "SUSPENSE",
                "reference": refund.reference,
                "route": refund.route,
            }
        },
    )


def import_completed(batch: ImportBatch) -> OutboxEvent | None:
    def data() -> dict[str, Any]:
        summary = {field: getattr(batch, field) for field in IMPORT_SUMMARY_FIELDS}
        return {
            "import": {
                "id": batch.pk, "file_name": batch.file_name, "format": batch.format, **summary
            }
        }  # fmt: skip

    return emit(EventType.IMPORT_COMPLETED, data)


def export_made(run: ExportRun) -> OutboxEvent | None:
    return emit(
        EventType.EXPORT_MADE,
        lambda: {
            "export": {
                "id": run.pk,
                "target": run.target.name,
                "file_name": run.file_name,
                "lines": run.line_count,
                "total_pence": run.total_pence,
                "sha256": run.sha256,
            }
        },
    )


def suspense_allocated(receipt: Receipt, allocations: Iterable[Any]) -> OutboxEvent | None:
    allocations = list(allocations)
    return emit(
        EventType.SUSPENSE_ALLOCATED,
        lambda: {"receipt": _receipt(receipt), "allocations": _allocations(allocations)},
    )
