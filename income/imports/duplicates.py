"""What an import recognises as already imported.

- A line: its receipt's key (income.imports.line_keys) is already some receipt's. Such a
  line is taken out of the chunk before it is allocated and held as a possible duplicate
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
# The staged lines of those days (the temporary staging table is on the database server the
# session is on, the coordinator on Citus, so it is read alone, never joined to a council table
# in one statement: Citus cannot plan a statement that changes both).
CANDIDATES = """
SELECT s.ctid::text, s.line_key, s.amount_pence > 0
FROM import_staging s
JOIN unnest(%(codes)s::text[], %(days)s::date[]) AS day(channel_code, received_on)
    ON day.channel_code = s.channel_code AND day.received_on = s.received_on
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
FOUND_TABLE = """
CREATE TEMP TABLE IF NOT EXISTS import_found (row_id tid, earlier_receipt_id bigint)
ON COMMIT DROP
"""
HOLD_FOUND = """
INSERT INTO income_possibleduplicate (batch_id, line_number, amount_pence, received_on,
    reference, narrative, payer_name, channel_id, line_key, earlier_receipt_id, status,
    created_at, decided_by_email, reason)
SELECT %(batch_id)s, s.line_number, s.amount_pence, s.received_on, left(s.reference, 50),
    left(s.narrative, 300), left(s.payer_name, 200), s.channel_id, s.line_key,
    found.earlier_receipt_id, 'held', now(), '', ''
FROM import_staging s
JOIN import_found found ON s.ctid = found.row_id
"""


def hold_already_imported(
    cursor: Any, params: dict, days: Iterable[tuple[str, datetime.date]]
) -> int:
    """Move the staged lines an earlier import brought in to the possible duplicates;
    returns how many. `days`: the chunk's channels and days."""
    chunk_days = sorted(days)
    if not chunk_days:
        return 0
    # Two imports of one council take turns from here to their commit: each sees the lines
    # the other brought in (two overlapping files uploaded together must not both post the
    # lines they share). Taken again for each chunk, which costs nothing once held.
    cursor.execute(
        "SELECT pg_advisory_xact_lock(hashtext(%s))", [f"{connection.schema_name}:import-lines"]
    )
    batch_id = params["batch_id"]
    cursor.execute(
        EARLIER_DAYS,
        {
            "codes": [code for code, _ in chunk_days],
            "days": [day for _, day in chunk_days],
            "batch_id": batch_id,
        },
    )
    earlier = cursor.fetchall()
    if not earlier:
        return 0
    found = _earlier_lines(cursor, earlier)
    if not found:
        return 0
    cursor.execute(FOUND_TABLE)
    cursor.execute("TRUNCATE import_found")
    with cursor.cursor.copy("COPY import_found (row_id, earlier_receipt_id) FROM STDIN") as copy:
        for row in found:
            copy.write_row(row)
    cursor.execute(HOLD_FOUND, {"batch_id": batch_id})
    held = cursor.rowcount
    cursor.execute(
        "DELETE FROM import_staging s USING import_found found WHERE s.ctid = found.row_id"
    )
    return held


def _earlier_lines(cursor: Any, earlier: list[tuple[str, datetime.date]]) -> list[tuple[str, int]]:
    """(staged row, the earlier receipt) for each staged line of `earlier` days already in."""
    cursor.execute(
        CANDIDATES,
        {"codes": [code for code, _ in earlier], "days": [day for _, day in earlier]},
    )
    candidates = cursor.fetchall()
    if not candidates:
        return []
    cursor.execute(EARLIER_RECEIPTS, [[key for _, key, money_in in candidates if money_in]])
    receipts = dict(cursor.fetchall())
    cursor.execute(EARLIER_MONEY_OUT, [[key for _, key, money_in in candidates if not money_in]])
    money_out = dict(cursor.fetchall())
    found = []
    for row_id, key, money_in in candidates:
        # A money-out line's receipt may be NULL: found is "the key is there", not its value.
        earlier_lines = receipts if money_in else money_out
        if key in earlier_lines:
            found.append((row_id, earlier_lines[key]))
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
