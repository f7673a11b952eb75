"""What an import recognises as already imported.

- A line: its receipt's key (income.imports.line_keys) is already some receipt's. Such a
  line is taken out of its chunk before it is posted and held as a possible duplicate
  (income.models.possible_duplicate) for a finance manager to release or discard.
- A statement the bank sends again under a new creation time: the file says which statement
  it is (FileTotals.statement_id); an import of the same statement that stands refuses it,
  as the same file is refused.
"""

import datetime
from collections.abc import Iterable
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from income.formats.records import FileRefused, FileTotals
from income.imports.ledger_writing import ImportContext
from income.imports.lines import ImportLine
from income.models import (
    NOT_BLOCKING_STATUSES,
    ImportBatch,
    ImportStatus,
    PossibleDuplicate,
    PossibleDuplicateStatus,
)

# The chunk's channels and days that an earlier import brought lines in for, registering the
# others as this import's (the SELECT does not see the rows its own WITH inserts). Nearly
# every file is of new days: then this is all the check costs, a statement of a few rows.
EARLIER_DAYS = """
WITH days AS (
    SELECT * FROM unnest(%(codes)s::text[], %(days)s::date[]) AS day(channel_code, received_on)
), registered AS (
    INSERT INTO income_importedday (channel_code, received_on, first_batch_id)
    SELECT channel_code, received_on, %(batch_id)s FROM days
    ON CONFLICT (channel_code, received_on) DO NOTHING
    RETURNING 1
)
SELECT days.channel_code, days.received_on
FROM days
JOIN income_importedday known
    ON known.channel_code = days.channel_code AND known.received_on = days.received_on
WHERE known.first_batch_id <> %(batch_id)s
"""
# Then one probe per key, by the unique indexes: money in by the receipts' idempotency_key,
# money out by the money-out lines' line_key (a debit of an overlapping file must not be
# taken back twice).
EARLIER_RECEIPTS = (
    "SELECT idempotency_key, id FROM income_receipt WHERE idempotency_key = ANY (%s::text[])"
)
EARLIER_MONEY_OUT = (
    "SELECT DISTINCT ON (line_key) line_key, receipt_id FROM income_importadjustment"
    " WHERE line_key = ANY (%s::text[]) ORDER BY line_key, id"
)
HELD_COLUMNS = (
    "batch_id, line_number, amount_pence, received_on, reference, narrative, payer_name, "
    "channel_id, line_key, earlier_receipt_id, status, created_at, decided_by_email, reason"
)


def hold_already_imported(
    cursor: Any,
    context: ImportContext,
    lines: list[ImportLine],
    days: Iterable[tuple[str, datetime.date]],
) -> list[ImportLine]:
    """Move the chunk's lines an earlier import brought in to the possible duplicates;
    returns the others. `days`: the chunk's channels and days."""
    chunk_days = sorted(days)
    if not chunk_days:
        return lines
    # Two imports of one council take turns from here to their commit: each sees the lines
    # the other brought in (two overlapping files uploaded together must not both post the
    # lines they share). Taken again for each chunk, which costs nothing once held.
    cursor.execute(
        "SELECT pg_advisory_xact_lock(hashtext(%s))", [f"{connection.schema_name}:import-lines"]
    )
    cursor.execute(
        EARLIER_DAYS,
        {
            "codes": [code for code, _ in chunk_days],
            "days": [day for _, day in chunk_days],
            "batch_id": context.batch_id,
        },
    )
    earlier = set(cursor.fetchall())
    if not earlier:
        return lines
    found = _earlier_lines(
        cursor, [line for line in lines if (line.channel_code, line.received_on) in earlier]
    )
    if not found:
        return lines
    with cursor.cursor.copy(f"COPY income_possibleduplicate ({HELD_COLUMNS}) FROM STDIN") as copy:
        for line in lines:
            if line.line_number in found:
                copy.write_row(
                    (
                        context.batch_id,
                        line.line_number,
                        line.amount_pence,
                        line.received_on,
                        line.reference[:50],
                        line.narrative[:300],
                        line.payer_name[:200],
                        line.channel_id,
                        line.line_key,
                        found[line.line_number],
                        PossibleDuplicateStatus.HELD.value,
                        context.created_at,
                        "",
                        "",
                    )
                )
    return [line for line in lines if line.line_number not in found]


def _earlier_lines(cursor: Any, candidates: list[ImportLine]) -> dict[int, int | None]:
    """{line number: the earlier receipt} for each candidate line already in. A money-out
    line's earlier receipt may be None: found is "the key is there", not its value."""
    if not candidates:
        return {}
    cursor.execute(
        EARLIER_RECEIPTS, [[line.line_key for line in candidates if line.amount_pence > 0]]
    )
    receipts = dict(cursor.fetchall())
    cursor.execute(
        EARLIER_MONEY_OUT, [[line.line_key for line in candidates if line.amount_pence <= 0]]
    )
    money_out = dict(cursor.fetchall())
    found = {}
    for line in candidates:
        earlier_lines = receipts if line.amount_pence > 0 else money_out
        if line.line_key in earlier_lines:
            found[line.line_number] = earlier_lines[line.line_key]
    return found


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
