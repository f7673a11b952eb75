"""Running one import: stream the stored file through its format, COPY the good lines into a
staging table (and the rejected ones, with their reasons, into the batch's list), then
allocate and post set-wise in SQL:

0. a line an earlier import already brought in (its receipt's key is taken) is held back as
   a possible duplicate (income.imports.duplicates);
1. import rules, in order (the first that matches a line applies);
2. funds' reference rules (matched in Python while streaming, carried into staging), and
   again for lines whose reference an import rule rewrote;
3. the fund's own checks (disabled, dates, channel, minimum, maximum); what fails any of
   these goes to suspense with its reason;
4. one journal, one receipt and its postings per incoming line; one journal for the lines
   that take money back, each from the one receipt it identifies or else onto the
   unexplained debits worklist (income.imports.debits).

The lines go through steps 1-4 in chunks, in the file's order, while a thread reads the
next chunk (income.imports.reader): Python's reading and PostgreSQL's posting overlap. Every
step is per line, so chunks change nothing of what lands where.

It is one transaction: a crash or a killed worker leaves nothing, and the task runs again.
A file whose own totals disagree with its lines rolls it back and is held for a decision
(income.imports.damaged).
"""

import logging
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from income.accounts import clearing_account, fund_account, suspense_account
from income.events import outbox
from income.formats.records import FileRefused, ReadOptions
from income.formats.registry import get_format
from income.imports.damaged import FileDamaged, check_file_totals, hold_damaged
from income.imports.debits import post_money_out
from income.imports.duplicates import check_statement_is_new, held_totals, hold_already_imported
from income.imports.progress import ProgressReporter
from income.imports.reader import ChunkReader, StagingChunk
from income.imports.reference_matching import FundMatcher
from income.imports.rules_sql import rule_update_sql
from income.imports.storage import import_files
from income.models import Channel, Fund, ImportBatch, ImportRule, ImportStatus
from tenants.audit.recording import record_audit
from tenants.models import User

logger = logging.getLogger(__name__)

STAGING = """
CREATE TEMP TABLE import_staging (
    line_number integer NOT NULL,
    amount_pence bigint NOT NULL,
    received_on date NOT NULL,
    reference text NOT NULL,
    narrative text NOT NULL,
    payer_name text NOT NULL,
    channel_code text NOT NULL,
    channel_id bigint NOT NULL,
    reference_fund_id bigint,
    reference_reason text,
    rule_id bigint,
    rule_fund_id bigint,
    reference_changed boolean NOT NULL DEFAULT false,
    line_key text NOT NULL
) ON COMMIT DROP
"""
STAGING_COLUMNS = (
    "line_number, amount_pence, received_on, reference, narrative, payer_name, channel_code, "
    "channel_id, reference_fund_id, reference_reason, line_key"
)

# Where each line goes, and why not to its fund if it goes to suspense. The table is made
# once WITH NO DATA (which draws no ids), then filled chunk by chunk.
ALLOCATE = """
SELECT s.line_number, s.amount_pence, s.received_on, s.reference, s.narrative, s.payer_name,
    s.channel_id, ch.name AS channel_name, clr.id AS clearing_account_id,
    f.id AS fund_id, fa.id AS fund_account_id,
    CASE
        WHEN f.id IS NULL THEN coalesce(s.reference_reason, 'no rule matched the line')
        WHEN s.amount_pence < 0 THEN NULL
        WHEN NOT f.is_active THEN f.code || ' ' || f.name || ' is disabled'
        WHEN f.active_from IS NOT NULL AND s.received_on < f.active_from
            THEN f.code || ' takes payments from ' || to_char(f.active_from, 'FMDD FMMonth YYYY')
        WHEN f.active_to IS NOT NULL AND s.received_on > f.active_to
            THEN f.code || ' stopped taking payments on '
                || to_char(f.active_to, 'FMDD FMMonth YYYY')
        WHEN bad.fund_id IS NOT NULL THEN f.code || ' does not take payments by ' || ch.name
        WHEN s.amount_pence < f.min_amount_pence
            THEN f.code || ' takes at least £'
                || to_char(f.min_amount_pence / 100.0, 'FM999,999,990.00')
        WHEN f.max_amount_pence IS NOT NULL AND s.amount_pence > f.max_amount_pence
                AND f.overpayment_handling = 'refuse'
            THEN f.code || ' takes at most £'
                || to_char(f.max_amount_pence / 100.0, 'FM999,999,990.00')
    END AS suspense_reason,
    CASE WHEN f.max_amount_pence IS NOT NULL AND s.amount_pence > f.max_amount_pence
            AND f.overpayment_handling = 'suspense'
        THEN s.amount_pence - f.max_amount_pence ELSE 0 END AS excess_pence,
    CASE WHEN s.amount_pence > 0 THEN nextval(%s::regclass) END AS journal_id,
    CASE WHEN s.amount_pence > 0 THEN nextval(%s::regclass) END AS receipt_id,
    CASE WHEN s.amount_pence > 0 THEN nextval('income_receipt_number_seq') END AS number,
    s.line_key
FROM import_staging s
JOIN income_channel ch ON ch.id = s.channel_id
JOIN income_account clr ON clr.channel_id = s.channel_id
LEFT JOIN income_fund f ON f.id = coalesce(s.rule_fund_id, s.reference_fund_id)
LEFT JOIN income_account fa ON fa.fund_id = f.id
LEFT JOIN (VALUES {refused_pairs}) AS bad(fund_id, channel_id)
    ON bad.fund_id = f.id AND bad.channel_id = s.channel_id
-- PostgreSQL evaluates the nextval()s above after this sort: receipt numbers follow the
-- file's lines, whatever order the joins produce rows in (and chunks go in the file's order).
ORDER BY s.line_number
"""
# The lines that take money back, kept from every chunk for the one journal that posts them.
TAKEN_BACK = "INSERT INTO import_taken_back SELECT * FROM import_alloc WHERE amount_pence < 0"

INSERT_JOURNALS = """
INSERT INTO income_journal (id, kind, description, created_at, created_by_id, created_by_email)
SELECT journal_id, 'receipt', left('Receipt R' || number || ' by ' || channel_name, 300), now(),
    %(user_id)s, %(user_email)s
FROM import_alloc WHERE amount_pence > 0
"""
INSERT_RECEIPTS = """
INSERT INTO income_receipt (id, number, amount_pence, channel_id, received_on, payer_reference,
    payer_name, narrative, idempotency_key, status, created_at, created_by_id, journal_id,
    import_batch_id, import_line_number)
SELECT receipt_id, 'R' || number, amount_pence, channel_id, received_on, left(reference, 50),
    left(payer_name, 200), left(narrative, 300), line_key, 'active', now(), %(user_id)s,
    journal_id, %(batch_id)s, line_number
FROM import_alloc WHERE amount_pence > 0
"""
# All of every journal's postings in one statement, as the ledger's balance trigger requires.
INSERT_POSTINGS = """
INSERT INTO income_posting (journal_id, account_id, amount_pence, receipt_id, booked_on)
SELECT a.journal_id, side.account_id, side.amount, a.receipt_id, a.received_on
FROM import_alloc a
CROSS JOIN LATERAL (VALUES
    (a.clearing_account_id, a.amount_pence),
    (CASE WHEN a.suspense_reason IS NULL THEN a.fund_account_id ELSE %(suspense)s END,
     -(a.amount_pence - a.excess_pence)),
    (%(suspense)s, -a.excess_pence)
) AS side(account_id, amount)
WHERE a.amount_pence > 0 AND side.amount <> 0
"""
# Money going out never touches suspense (income.imports.debits): only incoming lines.
INSERT_SUSPENDED = """
INSERT INTO income_importsuspendedline (batch_id, line_number, receipt_id, amount_pence,
    reference, reason)
SELECT %(batch_id)s, line_number, receipt_id,
    CASE WHEN suspense_reason IS NULL THEN excess_pence ELSE amount_pence END,
    left(reference, 50),
    coalesce(suspense_reason, 'more than the fund''s maximum: the excess went to suspense')
FROM import_alloc
WHERE amount_pence > 0 AND (suspense_reason IS NOT NULL OR excess_pence > 0)
"""
# A chunk's part of the batch's summary, by fund, in one pass over its allocation: the six
# totals, then the lines and pence that reached the fund.
TOTALS = """
SELECT fund_id,
    count(*) FILTER (WHERE amount_pence > 0),
    coalesce(sum(amount_pence) FILTER (WHERE amount_pence > 0), 0)::bigint,
    count(*) FILTER (WHERE amount_pence < 0),
    coalesce(-sum(amount_pence) FILTER (WHERE amount_pence < 0), 0)::bigint,
    count(*) FILTER (WHERE amount_pence > 0
        AND (suspense_reason IS NOT NULL OR excess_pence > 0)),
    coalesce(sum(CASE WHEN suspense_reason IS NOT NULL THEN amount_pence ELSE 0 END
        + CASE WHEN suspense_reason IS NULL AND amount_pence > 0 THEN excess_pence ELSE 0 END)
        FILTER (WHERE amount_pence > 0), 0)::bigint,
    count(*) FILTER (WHERE amount_pence > 0 AND suspense_reason IS NULL),
    coalesce(sum(amount_pence - excess_pence)
        FILTER (WHERE amount_pence > 0 AND suspense_reason IS NULL), 0)::bigint
FROM import_alloc
GROUP BY fund_id
"""


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
    for channel in found.values():
        clearing_account(channel)
    return found


def _import_file(
    path: Path, batch: ImportBatch, progress: ProgressReporter, user: User | None
) -> dict:
    format_module = get_format(batch.format)
    options = ReadOptions(
        mapping=batch.mapping.spec() if batch.mapping is not None else None,
        default_date=batch.default_date,
    )
    channels = _channels(format_module, batch)
    funds = list(Fund.objects.select_related("reference_rule").prefetch_related("channels"))
    for fund in funds:
        fund_account(fund)
    suspense = suspense_account()
    rules = list(ImportRule.objects.filter(is_active=True).select_related("set_channel"))
    for rule in rules:
        if rule.set_channel is not None:
            clearing_account(rule.set_channel)
    matcher = FundMatcher(funds)
    params = {
        "user_id": getattr(user, "pk", None),
        "user_email": getattr(user, "email", "") or "",
        "sha": batch.sha256,
        "batch_id": batch.pk,
        "suspense": suspense.pk,
    }
    started = time.perf_counter()
    timings: dict[str, float] = defaultdict(float)
    totals = [0] * 6
    by_fund: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    reader = ChunkReader(
        path=str(path),
        format_name=batch.format,
        options=options,
        batch_id=batch.pk,
        channel_ids={code: channel.pk for code, channel in channels.items()},
        matcher=matcher,
    )
    with connection.cursor() as cursor, reader:
        allocate = _create_tables(cursor, _refused_fund_channels(funds, rules, channels))
        waited = time.perf_counter()
        for number, chunk in enumerate(reader.chunks()):
            timings["waiting for lines"] += time.perf_counter() - waited
            _post_chunk(
                cursor, reader, chunk, rules, matcher, allocate, params, timings, first=not number
            )
            began = time.perf_counter()
            cursor.execute(TOTALS)
            for fund_id, *parts, count, pence in cursor.fetchall():
                totals = [total + part for total, part in zip(totals, parts, strict=True)]
                if count:
                    by_fund[fund_id][0] += count
                    by_fund[fund_id][1] += pence
            timings["totals"] += time.perf_counter() - began
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
            totals=totals,
        )
        if reader.rejected_count:
            with cursor.cursor.copy(
                "COPY income_importrejectedline (batch_id, line_number, content, reason) FROM STDIN"
            ) as copy:
                while block := reader.rejected.read(1024 * 1024):
                    copy.write(block)
        statement_id = check_statement_is_new(batch, reader.file_totals)
        money_out = post_money_out(cursor, batch, params)
        cursor.execute("DROP TABLE import_staging, import_alloc, import_taken_back")
    timings["all"] = time.perf_counter() - started
    logger.info(
        "import %s: %s",
        batch.pk,
        ", ".join(f"{name} {seconds:.2f}s" for name, seconds in timings.items()),
    )
    created, created_pence, adjusted, adjusted_pence, suspended, suspended_pence = totals
    names = {fund.pk: fund for fund in funds}
    return {
        "lines_read": reader.lines_read,
        "receipts_created": created,
        "receipts_pence": created_pence,
        "adjustments_count": adjusted,
        "adjustments_pence": adjusted_pence,
        "suspense_count": suspended,
        "suspense_pence": suspended_pence,
        "rejected_count": reader.rejected_count,
        "adjustment_journal_id": money_out.journal_id,
        "unexplained_debits_count": money_out.unexplained_count,
        "unexplained_debits_pence": money_out.unexplained_pence,
        "statement_id": statement_id,
        **held_totals(batch.pk),
        "fund_totals": [
            {"code": names[fund_id].code, "name": names[fund_id].name, "count": c, "pence": p}
            for fund_id, (c, p) in sorted(by_fund.items(), key=lambda i: names[i[0]].code)
        ],
    }


def _create_tables(cursor: Any, refused_pairs: list[tuple[int, int]]) -> tuple[str, list]:
    """The import's temporary tables; returns the allocation's SELECT and its parameters."""
    pairs = refused_pairs or [(0, 0)]
    values = ", ".join(["(%s::bigint, %s::bigint)"] * len(pairs))
    params: list[Any] = [_sequence(cursor, "income_journal"), _sequence(cursor, "income_receipt")]
    params += [value for pair in pairs for value in pair]
    allocate = ALLOCATE.replace("{refused_pairs}", values)
    # A chunk's sort, the triggers' transition tables and their aggregates fit in memory:
    # at the default 4MB they spill to disk.
    cursor.execute("SET LOCAL work_mem = '64MB'")
    # ON COMMIT DROP, but a caller's outer transaction (a test) may run two imports.
    cursor.execute("DROP TABLE IF EXISTS import_staging, import_alloc, import_taken_back")
    cursor.execute(STAGING)
    cursor.execute(
        f"CREATE TEMP TABLE import_alloc ON COMMIT DROP AS {allocate} WITH NO DATA", params
    )
    cursor.execute(
        "CREATE TEMP TABLE import_taken_back ON COMMIT DROP AS TABLE import_alloc WITH NO DATA"
    )
    return f"INSERT INTO import_alloc {allocate}", params


def _post_chunk(
    cursor: Any,
    reader: ChunkReader,
    chunk: StagingChunk,
    rules: list[ImportRule],
    matcher: FundMatcher,
    allocate: tuple[str, list],
    params: dict,
    timings: dict[str, float],
    *,
    first: bool,
) -> None:
    """Steps 1-4 for one chunk of lines, leaving its allocation in import_alloc."""

    def timed(name: str, sql: str, sql_params: Any = None) -> Any:
        began = time.perf_counter()
        cursor.execute(sql, sql_params)
        timings[name] += time.perf_counter() - began
        return cursor.rowcount

    began = time.perf_counter()
    cursor.execute("TRUNCATE import_staging, import_alloc")
    with cursor.cursor.copy(f"COPY import_staging ({STAGING_COLUMNS}) FROM STDIN") as copy:
        for block in chunk.blocks:
            copy.write(block)
    if first:  # the chunks are alike: the first one's statistics serve them all
        cursor.execute("ANALYZE import_staging")
    timings["staging"] += time.perf_counter() - began
    began = time.perf_counter()
    held = hold_already_imported(cursor, params, chunk.days)
    timings["already imported"] += time.perf_counter() - began
    began = time.perf_counter()
    for rule in rules:
        code = rule.set_channel.code if rule.set_channel is not None else None
        cursor.execute(*rule_update_sql(rule, code))
    _rematch_rewritten_references(cursor, matcher)
    timings["rules"] += time.perf_counter() - began
    allocated = timed("allocate", *allocate)
    if allocated != chunk.rows - held:  # a line without its channel's clearing account
        raise RuntimeError(f"{chunk.rows - held - allocated} staged lines could not be allocated")
    timed("journals", INSERT_JOURNALS, params)
    # The next chunk is read while the receipts are written: the longest statement, one wait
    # on the server with the interpreter lock free, and nothing of this thread's Python
    # (which would wait for the lock behind the reader) until it ends.
    reader.read_ahead()
    timed("receipts", INSERT_RECEIPTS, params)
    timed("postings", INSERT_POSTINGS, params)
    timed("suspense and taken back", INSERT_SUSPENDED, params)
    timed("suspense and taken back", TAKEN_BACK)


def _sequence(cursor: Any, table: str) -> str:
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
    return cursor.fetchone()[0]


def _rematch_rewritten_references(cursor: Any, matcher: FundMatcher) -> None:
    """Lines whose reference an import rule rewrote (and gave no fund) are matched again."""
    cursor.execute(
        "SELECT line_number, reference FROM import_staging "
        "WHERE reference_changed AND rule_fund_id IS NULL"
    )
    rows = cursor.fetchall()
    if not rows:
        return
    updates = [(line, *matcher.match(reference)) for line, reference in rows]
    cursor.executemany(
        "UPDATE import_staging SET reference_fund_id = %s, reference_reason = %s "
        "WHERE line_number = %s",
        [(fund_id, reason, line) for line, fund_id, reason in updates],
    )


def _refused_fund_channels(
    funds: list[Fund], rules: list[ImportRule], channels: dict[str, Channel]
) -> list[tuple[int, int]]:
    """(fund, channel) pairs where the fund only takes other channels."""
    in_play = {channel.pk for channel in channels.values()}
    in_play |= {rule.set_channel_id for rule in rules if rule.set_channel_id}
    pairs = []
    for fund in funds:
        allowed = {channel.pk for channel in fund.channels.all()}
        if allowed:
            pairs += [(fund.pk, channel_id) for channel_id in in_play - allowed]
    return pairs
