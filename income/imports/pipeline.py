"""Running one import: stream the stored file through its format in a thread that allocates
each good line as it reads it (income.imports.allocation: import rules, funds' reference
rules, the fund's own checks) and lists the rejected ones with their reasons; then, chunk by
chunk, in the file's order:

0. a line an earlier import already brought in (its receipt's key is taken) is held back as
   a possible duplicate (income.imports.duplicates);
1. what Python could not decide of the import rules (a regular expression, text beyond
   ASCII) PostgreSQL decides (income.imports.rule_matching);
2. the chunk's journal, each incoming line's receipt and postings, and its suspense lines
   are written by COPY (income.imports.ledger_writing);
3. the lines that take money back are kept for one journal at the end, each from the one
   receipt it identifies or else onto the unexplained debits worklist (income.imports.debits).

The next chunk is read while this one is written: Python's reading and PostgreSQL's writing
overlap (income.imports.reader). Every step is per line, so chunks change nothing of what
lands where.

It is one transaction: a crash or a killed worker leaves nothing, and the task runs again.
A file whose own totals disagree with its lines rolls it back and is held for a decision
(income.imports.damaged).
"""

import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from income.accounts import suspense_account
from income.events import outbox
from income.formats.records import FileRefused, ReadOptions
from income.formats.registry import get_format
from income.imports.allocation import LineAllocator
from income.imports.damaged import FileDamaged, check_file_totals, hold_damaged
from income.imports.debits import post_money_out
from income.imports.duplicates import check_statement_is_new, held_totals, hold_already_imported
from income.imports.ledger_writing import (
    ChunkTotals,
    IdSource,
    ImportContext,
    MoneyOutLine,
    PreparedChunk,
    prepare_chunk,
    reserve_on,
    write_chunk,
)
from income.imports.lines import ImportLine, LineChunk
from income.imports.progress import ProgressReporter
from income.imports.reader import ChunkReader
from income.imports.rule_matching import ascii_upper_case_agrees
from income.imports.storage import import_files
from income.models import Channel, ImportBatch, ImportRule, ImportStatus
from tenants.audit.recording import record_audit
from tenants.models import User

logger = logging.getLogger(__name__)


def run_import(batch_id: int) -> ImportBatch:
    """Import the batch's file, all or nothing. Safe to run again: a finished batch is left
    as it is, and an unfinished one (a crash, a killed worker) starts again from nothing.
    Two workers given the same batch (a message delivered twice) take turns: the second
    finds it finished and leaves it."""
    key = [connection.schema_name, batch_id]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(hashtext(%s), %s::integer)", key)
    try:
        return _run_import(batch_id)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(hashtext(%s), %s::integer)", key)


def _run_import(batch_id: int) -> ImportBatch:
    batch = ImportBatch.objects.select_related("mapping", "mapping__channel").get(pk=batch_id)
    if batch.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING):
        return batch
    ImportBatch.objects.filter(pk=batch_id).update(
        status=ImportStatus.RUNNING,
        started_at=timezone.now(),
        phase="Reading the file",
        bytes_read=0,
        lines_read=0,
    )
    user = User.objects.filter(pk=batch.uploaded_by_id).first() if batch.uploaded_by_id else None
    progress = ProgressReporter(batch_id)
    try:
        with transaction.atomic():
            # The reader needs a path here: the stored file, or a copy of the bucket's.
            with import_files().local_path(batch.sha256) as path:
                summary = _import_file(path, batch, progress, user)
            committing = time.perf_counter()
            progress.close()
            ImportBatch.objects.filter(pk=batch_id).update(
                status=ImportStatus.COMPLETED,
                finished_at=timezone.now(),
                phase="",
                bytes_read=batch.size_bytes,
                **summary,
            )
            batch.refresh_from_db()
            record_audit(
                "import.completed",
                acting_user=user,
                target=batch,
                after={
                    key: summary[key]
                    for key in (
                        "lines_read",
                        "receipts_created",
                        "receipts_pence",
                        "suspense_count",
                        "unexplained_debits_count",
                        "unexplained_debits_pence",
                        "rejected_count",
                        "duplicates_count",
                    )
                },
            )
            outbox.import_completed(batch)
        # What is left for the commit: the few deferrable foreign keys still checked row by
        # row (the suspended lines' receipts, the batch's lines), and flushing the WAL.
        logger.info("import %s: commit %.2fs", batch_id, time.perf_counter() - committing)
    except FileDamaged as damaged:  # everything it posted has rolled back
        hold_damaged(batch, damaged, user)
    except FileRefused as refusal:
        _finish(batch, ImportStatus.REFUSED, str(refusal))
    except Exception as error:
        _finish(
            batch,
            ImportStatus.FAILED,
            "The import stopped before it finished, so nothing from this file was saved. "
            f"You can upload the file again. ({type(error).__name__}: {str(error)[:300]})",
        )
        raise
    finally:
        progress.close()
    batch.refresh_from_db()
    return batch


def _finish(batch: ImportBatch, status: str, message: str) -> None:
    ImportBatch.objects.filter(pk=batch.pk, status=ImportStatus.RUNNING).update(
        status=status, message=message, finished_at=timezone.now(), phase=""
    )


def _channels(format_module: Any, batch: ImportBatch) -> dict[str, Channel]:
    """The channels the format's lines arrive by, each with its clearing account."""
    found: dict[str, Channel] = {}
    for spec in getattr(format_module, "CHANNELS", ()):
        channel, _ = Channel.objects.get_or_create(
            code=spec.code, defaults={"name": spec.name, "kind": spec.kind}
        )
        found[spec.code] = channel
    if batch.mapping is not None and batch.mapping.channel is not None:
        found[batch.mapping.channel.code] = batch.mapping.channel
    if "BANK" not in found:
        bank = Channel.objects.filter(code="BANK").first()
        if bank is not None:
            found["BANK"] = bank
    return found


def import_context(cursor: Any, batch: ImportBatch, user: User | None) -> ImportContext:
    """What every chunk of the import is written with."""
    cursor.execute(
        "SELECT now()::text, pg_get_serial_sequence('income_journal', 'id'), "
        "pg_get_serial_sequence('income_receipt', 'id'), "
        "format('%I.%I', current_schema(), 'income_receipt_number_seq')"
    )
    created_at, journal_sequence, receipt_sequence, number_sequence = cursor.fetchone()
    return ImportContext(
        batch_id=batch.pk,
        file_name=batch.file_name,
        user_id=getattr(user, "pk", None),
        user_email=getattr(user, "email", "") or "",
        suspense_account_id=suspense_account().pk,
        journal_sequence=journal_sequence,
        receipt_sequence=receipt_sequence,
        number_sequence=number_sequence,
        created_at=created_at,
    )


def line_allocator(cursor: Any, channels: list[Channel]) -> LineAllocator:
    """The allocator for an import's lines by the council's rules as they are now."""
    rules = list(ImportRule.objects.filter(is_active=True).select_related("set_channel"))
    return LineAllocator.for_import(
        channels, rules, rules_in_python=ascii_upper_case_agrees(cursor)
    )


def _import_file(
    path: Path, batch: ImportBatch, progress: ProgressReporter, user: User | None
) -> dict:
    format_module = get_format(batch.format)
    options = ReadOptions(
        mapping=batch.mapping.spec() if batch.mapping is not None else None,
        default_date=batch.default_date,
    )
    channels = _channels(format_module, batch)
    started = time.perf_counter()
    timings: dict[str, float] = defaultdict(float)
    totals = ChunkTotals()
    money_out: list[MoneyOutLine] = []
    with connection.cursor() as cursor:
        allocator = line_allocator(cursor, list(channels.values()))
        context = import_context(cursor, batch, user)
        # The triggers' transition tables and their aggregates fit in memory: at the default
        # 4MB they spill to disk.
        cursor.execute("SET LOCAL work_mem = '64MB'")
        ids = IdSource(context)

        def prepare(lines: list[ImportLine]) -> PreparedChunk | None:
            """In the reading thread: a chunk whose rules are all decided, ready to send."""
            if any(line.undecided_rule is not None for line in lines):
                return None
            return prepare_chunk(lines, context, ids.reserve)

        reader = ChunkReader(
            path=str(path),
            format_name=batch.format,
            options=options,
            batch_id=batch.pk,
            channel_ids={code: channel.pk for code, channel in channels.items()},
            allocator=allocator,
            prepare=prepare,
        )
        with reader, contextlib.closing(ids):
            waited = time.perf_counter()
            for chunk in reader.chunks():
                timings["waiting for lines"] += time.perf_counter() - waited
                post_chunk(
                    cursor, chunk, allocator, context, totals, money_out, timings,
                    before_receipts=reader.read_ahead,
                )  # fmt: skip
                progress.report(
                    phase="Reading the file and posting to the ledger",
                    bytes_read=chunk.bytes_read,
                    lines_read=chunk.lines_read,
                )
                waited = time.perf_counter()
            timings["waiting for lines"] += time.perf_counter() - waited
            check_file_totals(
                batch,
                reader.file_totals,
                lines_read=reader.lines_read,
                rejected_count=reader.rejected_count,
                totals=totals.as_list(),
            )
            if reader.rejected_count:
                with cursor.cursor.copy(
                    "COPY income_importrejectedline (batch_id, line_number, content, reason) "
                    "FROM STDIN"
                ) as copy:
                    while block := reader.rejected.read(1024 * 1024):
                        copy.write(block)
            statement_id = check_statement_is_new(batch, reader.file_totals)
            posted_out = post_money_out(cursor, batch, context, money_out)
    timings["all"] = time.perf_counter() - started
    logger.info(
        "import %s: %s",
        batch.pk,
        ", ".join(f"{name} {seconds:.2f}s" for name, seconds in timings.items()),
    )
    names = {fund.id: fund for fund in allocator.funds.values()}
    return {
        "lines_read": reader.lines_read,
        "receipts_created": totals.created,
        "receipts_pence": totals.created_pence,
        "adjustments_count": totals.adjusted,
        "adjustments_pence": totals.adjusted_pence,
        "suspense_count": totals.suspended,
        "suspense_pence": totals.suspended_pence,
        "rejected_count": reader.rejected_count,
        "adjustment_journal_id": posted_out.journal_id,
        "unexplained_debits_count": posted_out.unexplained_count,
        "unexplained_debits_pence": posted_out.unexplained_pence,
        "statement_id": statement_id,
        **held_totals(batch.pk),
        "fund_totals": [
            {"code": names[fund_id].code, "name": names[fund_id].name, "count": c, "pence": p}
            for fund_id, (c, p) in sorted(
                totals.by_fund.items(), key=lambda item: names[item[0]].code
            )
        ],
    }


def post_chunk(
    cursor: Any,
    chunk: LineChunk,
    allocator: LineAllocator,
    context: ImportContext,
    totals: ChunkTotals,
    money_out: list[MoneyOutLine],
    timings: dict[str, float],
    *,
    before_receipts: Callable[[], None] = lambda: None,
    hold_duplicates: bool = True,
) -> None:
    """Steps 0-3 for one chunk of allocated lines."""
    lines = chunk.lines
    prepared = chunk.prepared
    if hold_duplicates:
        began = time.perf_counter()
        kept = hold_already_imported(cursor, context, lines, chunk.days)
        timings["already imported"] += time.perf_counter() - began
        if len(kept) != len(lines):
            # Prepared with the held lines: prepared again without them (the ids drawn for
            # it are gaps, as a rolled-back import's are).
            lines, prepared = kept, None
    if prepared is None:
        began = time.perf_counter()
        allocator.settle(cursor, lines)
        prepared = prepare_chunk(lines, context, lambda count: reserve_on(cursor, context, count))
        assert prepared is not None  # the import's own connection always draws ids
        timings["prepared here"] += time.perf_counter() - began
    write_chunk(cursor, prepared, context, timings, before_receipts=before_receipts)
    totals.add(prepared.totals)
    money_out.extend(prepared.money_out)
