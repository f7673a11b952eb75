"""What an import recognises as already imported.

- A line: its receipt's key (income.imports.line_keys) is already some receipt's. Such a
  line is taken out of the chunk before it is allocated and held as a possible duplicate
  (income.models.possible_duplicate) for a finance manager to release or discard.
- A statement the bank sends again under a new creation time: the file says which statement
  it is (FileTotals.statement_id); an import of the same statement that stands refuses it,
  as the same file is refused.
"""

from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from income.formats.records import FileRefused, FileTotals
from income.models import (
    NOT_BLOCKING_STATUSES,
    ImportBatch,
    ImportStatus,
    PossibleDuplicate,
    PossibleDuplicateStatus,
)

# One index probe per line, by the receipt table's unique index on idempotency_key: the
# LATERAL subquery with LIMIT cannot be turned into a hash or merge join, which for a chunk
# of 100,000 lines the planner might otherwise choose, reading all of a table of millions.
# Only lines that would make a receipt (money arriving) are looked up.
HOLD_ALREADY_IMPORTED = """
WITH found AS (
    SELECT s.ctid AS row_id, earlier.id AS earlier_receipt_id
    FROM import_staging s
    CROSS JOIN LATERAL (
        SELECT r.id FROM income_receipt r WHERE r.idempotency_key = s.line_key LIMIT 1
    ) AS earlier
    WHERE s.amount_pence > 0
), held AS (
    DELETE FROM import_staging s USING found
    WHERE s.ctid = found.row_id
    RETURNING s.*, found.earlier_receipt_id
), saved AS (
    INSERT INTO income_possibleduplicate (batch_id, line_number, amount_pence, received_on,
        reference, narrative, payer_name, channel_id, line_key, earlier_receipt_id, status,
        created_at, decided_by_email, reason)
    SELECT %(batch_id)s, line_number, amount_pence, received_on, left(reference, 50),
        left(narrative, 300), left(payer_name, 200), channel_id, line_key, earlier_receipt_id,
        'held', now(), '', ''
    FROM held
    RETURNING 1
)
SELECT count(*) FROM saved
"""


def hold_already_imported(cursor: Any, params: dict) -> int:
    """Move the staged lines an earlier import brought in to the possible duplicates;
    returns how many."""
    # Two imports of one council take turns from here to their commit: each sees the lines
    # the other brought in (two overlapping files uploaded together must not both post the
    # lines they share). Taken again for each chunk, which costs nothing once held.
    cursor.execute(
        "SELECT pg_advisory_xact_lock(hashtext(%s))", [f"{connection.schema_name}:import-lines"]
    )
    cursor.execute(HOLD_ALREADY_IMPORTED, {"batch_id": params["batch_id"]})
    return cursor.fetchone()[0]


def held_totals(batch_id: int) -> dict[str, int]:
    """The batch's summary of what it held back."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), coalesce(sum(amount_pence), 0)::bigint "
            "FROM income_possibleduplicate WHERE batch_id = %s",
            [batch_id],
        )
        count, pence = cursor.fetchone()
    return {"duplicates_count": count, "duplicates_pence": pence}


def check_statement_is_new(batch: ImportBatch, totals: FileTotals | None) -> str:
    """The file's statement identity (empty if its format has none); refuses the file if an
    import of the same statement stands."""
    statement_id = (totals.statement_id if totals is not None else "").strip()
    if not statement_id:
        return ""
    earlier = (
        ImportBatch.objects.filter(statement_id=statement_id)
        .exclude(pk=batch.pk)
        .exclude(status__in=NOT_BLOCKING_STATUSES)
        .order_by("uploaded_at")
        .first()
    )
    if earlier is not None:
        when = timezone.localtime(earlier.uploaded_at)
        who = f" by {earlier.uploaded_by_email}" if earlier.uploaded_by_email else ""
        raise FileRefused(
            f"This statement ({statement_id}) was already imported on "
            f"{when:%-d %B %Y at %H:%M}{who} as import {earlier.pk} ({earlier.file_name}). "
            "The bank has sent it again (with a new creation time): the same statement is "
            "never imported twice."
        )
    return statement_id


def waiting_possible_duplicates() -> QuerySet[PossibleDuplicate]:
    """Held lines still to decide (those of an import since reversed no longer can be)."""
    return PossibleDuplicate.objects.filter(
        status=PossibleDuplicateStatus.HELD, batch__status=ImportStatus.COMPLETED
    )


def earlier_reversed_imports(batch: ImportBatch) -> QuerySet[ImportBatch]:
    """Earlier imports of the same file that were reversed (which is why it could be
    imported again)."""
    if not batch.content_sha256:
        return ImportBatch.objects.none()
    return (
        ImportBatch.objects.filter(
            content_sha256=batch.content_sha256,
            status=ImportStatus.REVERSED,
            uploaded_at__lte=batch.uploaded_at,
        )
        .exclude(pk=batch.pk)
        .order_by("uploaded_at")
    )
