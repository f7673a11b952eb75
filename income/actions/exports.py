"""Exports: each target's next file holds every posting to its funds not yet sent to it
(income.exports.window), in its layout, written by PostgreSQL straight into the file; the file
is kept byte for byte and its contents can be listed again.

"Export now" queues the file for the worker (`request_export`); the daily exports and scripts
make it in the process that asks (`run_export`). Runs for one target queue behind each other
(the target's row is locked while a file is made), so nothing is ever in two of its files."""

import csv
import datetime
import io
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from income.events import outbox
from income.exports.export_file import ExportFile
from income.exports.gl_journal import make_journal
from income.exports.layout import (
    FieldSpec,
    LayoutSpec,
    date_format_problem,
    formula_start_problem,
)
from income.exports.lines_sql import lines_query, listing_sql, totals_sql
from income.exports.window import LedgerSnapshot, take_snapshot, window_condition
from income.fund_visibility import require_export_target_visible
from income.models import (
    Account,
    AccountKind,
    ExportRun,
    ExportStatus,
    ExportTarget,
    Fund,
    JournalKind,
)
from income.money import decimal_pounds
from tenants.audit.recording import record_audit
from tenants.capabilities import Capability, require_council_capability
from tenants.council_task import send_on_commit
from tenants.models import Council, User

logger = logging.getLogger(__name__)

UNDER_WAY = (ExportStatus.QUEUED, ExportStatus.RUNNING)
# A run still being made after this long has most likely lost its worker (killed, and the
# message not delivered again), so "Export now" queues it once more. Harmless if it has not:
# the second task waits for the first to let go of the run and the target, then finds the run
# finished and leaves it.
PRESUMED_LOST_AFTER = datetime.timedelta(minutes=10)
# COPY hands over a row at a time; the file takes them a megabyte at a time.
WRITE_BYTES = 1 << 20


def layout_of(target: ExportTarget) -> LayoutSpec:
    return LayoutSpec(
        layout=target.layout,
        fields=tuple(
            FieldSpec(
                field=f["field"],
                width=int(f.get("width") or 0),
                align=f.get("align", "left"),
                pad=f.get("pad", " ") or " ",
            )
            for f in target.fields
        ),
        delimiter=target.delimiter or ",",
        include_header=target.include_header,
        include_trailer=target.include_trailer,
        date_format=target.date_format,
        amount_format=target.amount_format,
    )


def request_export(
    *, council: Council, target: ExportTarget, acting_user: User | None
) -> ExportRun:
    """Queue the target's next file for the worker. Asked for again while one waits or is
    being made, it is that one (queued again if its worker seems lost)."""
    run = _open_run(council=council, target=target, acting_user=acting_user)
    if run.status == ExportStatus.QUEUED or _presumed_lost(run):
        send_on_commit("income.make_export", run.pk)
    return run


def _presumed_lost(run: ExportRun) -> bool:
    return run.status == ExportStatus.RUNNING and (
        run.started_at is None or run.started_at < timezone.now() - PRESUMED_LOST_AFTER
    )


def run_export(*, council: Council, target: ExportTarget, acting_user: User | None) -> ExportRun:
    """Make the target's next file here and now."""
    run = _open_run(council=council, target=target, acting_user=acting_user)
    return make_export(run.pk, acting_user=acting_user)


@transaction.atomic
def _open_run(*, council: Council, target: ExportTarget, acting_user: User | None) -> ExportRun:
    if acting_user is not None:
        membership = require_council_capability(acting_user, council, Capability.RUN_EXPORTS)
        require_export_target_visible(membership, target)
    if not target.is_active:
        raise ValidationError(f"{target.name} is not in use.")
    if not target.fields and target.layout != "gl_journal":
        raise ValidationError(f"{target.name} has no fields in its layout.")
    under_way = ExportRun.objects.filter(target=target, status__in=UNDER_WAY).first()
    if under_way is not None:
        return under_way
    try:
        with transaction.atomic():
            run = ExportRun.objects.create(
                target=target,
                created_by_id=getattr(acting_user, "pk", None),
                created_by_email=getattr(acting_user, "email", "") or "",
            )
    except IntegrityError:  # asked for at the same moment by someone else
        return ExportRun.objects.get(target=target, status__in=UNDER_WAY)
    record_audit(
        "export.requested", acting_user=acting_user, target=run, after={"target": target.name}
    )
    return run


def make_export(run_id: int, *, acting_user: User | None = None) -> ExportRun:
    """Make a queued run's file, all or nothing. Safe to repeat: a finished run is left as it
    is, and one a killed worker left half made starts again from nothing."""
    ExportRun.objects.filter(pk=run_id, status__in=UNDER_WAY).update(
        status=ExportStatus.RUNNING, started_at=timezone.now()
    )
    try:
        with transaction.atomic():
            run = _write_export_file(run_id, acting_user=acting_user)
    except Exception as error:
        ExportRun.objects.filter(pk=run_id, status=ExportStatus.RUNNING).update(
            status=ExportStatus.FAILED,
            finished_at=timezone.now(),
            message="The export stopped before it finished, so nothing was marked as sent; "
            f"export again when it is mended. ({type(error).__name__}: {str(error)[:300]})",
        )
        raise
    return run


def _write_export_file(run_id: int, *, acting_user: User | None) -> ExportRun:
    target_id = ExportRun.objects.values_list("target_id", flat=True).get(pk=run_id)
    # The target's lock puts runs for it one behind another, and comes before the snapshot:
    # a run's window opens where the one before it closed.
    target = ExportTarget.objects.select_for_update().get(pk=target_id)
    run = ExportRun.objects.select_for_update().get(pk=run_id)
    if run.status != ExportStatus.RUNNING:
        return run
    previous = (
        ExportRun.objects.filter(target=target, status=ExportStatus.COMPLETED)
        .order_by("-id")
        .first()
    )
    began = time.perf_counter()
    export_file = ExportFile(run.pk)
    try:
        with connection.cursor() as cursor:
            snapshot = take_snapshot(cursor)
            if previous is not None and snapshot.xmax < previous.snapshot_xmax:
                # Short enough for the run's message to keep whole (it keeps 300 characters).
                raise LedgerMovedBack(
                    "This database's transaction ids are behind those of the last file made "
                    f"for this target (export {previous.pk}): most likely it was restored onto "
                    "another server, and new postings would look already sent. Nothing was "
                    "exported; ask the platform operators to mend the exports."
                )
            window, params = window_condition(
                snapshot, snapshot_of(previous) if previous is not None else None
            )
            params["accounts"] = _fund_accounts(target)
            if target.layout == "gl_journal":
                journal = make_journal(
                    cursor,
                    window,
                    params,
                    date_format=target.date_format,
                    control_ledger_code=target.control_ledger_code,
                )
                export_file.write_text(journal.text)
                lines, income, outgoing = (
                    journal.line_count,
                    journal.income_pence,
                    journal.outgoing_pence,
                )
                first, last = journal.first_posting_id, journal.last_posting_id
            else:
                layout = layout_of(target)
                cursor.execute(totals_sql(window), params)
                lines, income, outgoing, first, last = cursor.fetchone()
                _write_lines(cursor, export_file, layout, window, params, lines)
                _write_trailer(export_file, layout, lines, income - outgoing)
        sha256 = export_file.keep()
    except BaseException:
        export_file.discard()
        raise
    made_at = timezone.now()
    run.previous = previous
    run.snapshot_xmin, run.snapshot_xmax = snapshot.xmin, snapshot.xmax
    run.snapshot_xip = list(snapshot.xip)
    run.own_xact_id, run.own_last_posting_id = snapshot.own_xact_id, snapshot.own_last_posting_id
    run.account_ids = params["accounts"]
    run.first_posting_id, run.last_posting_id = first, last
    run.line_count, run.income_pence, run.outgoing_pence = lines, income, outgoing
    run.total_pence = income - outgoing
    run.sha256, run.size_bytes = sha256, export_file.size
    extension = "csv" if target.layout in ("csv", "gl_journal") else "txt"
    run.file_name = (
        f"{_slug(target.name)}-{timezone.localtime(made_at):%Y%m%d-%H%M%S}-{run.pk}.{extension}"
    )
    run.status, run.finished_at = ExportStatus.COMPLETED, made_at
    run.save()
    logger.info(
        "export %s: %s lines, %s bytes in %.2fs",
        run.pk,
        lines,
        export_file.size,
        time.perf_counter() - began,
    )
    record_audit(
        "export.made",
        acting_user=acting_user,
        target=run,
        after={"target": target.name, "lines": lines, "total_pence": run.total_pence},
    )
    outbox.export_made(run)
    return run


class LedgerMovedBack(Exception):
    """The ledger's transaction ids went back (income.exports.window assumes they only rise)."""


def _fund_accounts(target: ExportTarget) -> list[int]:
    accounts = Account.objects.filter(kind=AccountKind.FUND)
    funds = list(target.funds.values_list("pk", flat=True))
    if funds:
        accounts = accounts.filter(fund__in=funds)
    return sorted(accounts.values_list("pk", flat=True))


def _write_lines(
    cursor: object,
    export_file: ExportFile,
    layout: LayoutSpec,
    window: str,
    params: dict,
    lines: int,
) -> None:
    header_breaks = 0
    if layout.include_header:
        if layout.layout == "csv":
            out = io.StringIO()
            csv.writer(out, delimiter=layout.delimiter, lineterminator="\r\n").writerow(
                spec.field for spec in layout.fields
            )
            export_file.write_text(out.getvalue())
        else:
            export_file.write_text(f"HDR{timezone.localdate():%Y%m%d}\r\n")
        header_breaks = 1
    if lines:
        query = lines_query(layout, window)
        statement = f"COPY ({query.select}) TO STDOUT WITH ({query.copy_options})"
        pending = bytearray()
        with cursor.cursor.copy(statement, params) as copy:  # type: ignore[attr-defined]
            for row in copy:
                pending += row
                if len(pending) >= WRITE_BYTES:
                    export_file.write(pending.replace(b"\n", b"\r\n"))
                    pending.clear()
        export_file.write(pending.replace(b"\n", b"\r\n"))
    # Every line is one posting: a line break inside a value would make two.
    if export_file.line_breaks != header_breaks + lines:
        raise RuntimeError(
            f"the file has {export_file.line_breaks - header_breaks} lines for {lines} postings"
        )


def _write_trailer(export_file: ExportFile, layout: LayoutSpec, lines: int, total: int) -> None:
    if not layout.include_trailer:
        return
    if layout.layout == "csv":
        out = io.StringIO()
        csv.writer(out, delimiter=layout.delimiter, lineterminator="\r\n").writerow(
            [
                "TRAILER",
                lines,
                str(total) if layout.amount_format == "pence" else decimal_pounds(total),
            ]
        )
        export_file.write_text(out.getvalue())
    else:
        export_file.write_text(f"TRL{lines:09d}{total:015d}\r\n")


def snapshot_of(run: ExportRun) -> LedgerSnapshot:
    return LedgerSnapshot(
        xmin=run.snapshot_xmin,
        xmax=run.snapshot_xmax,
        xip=tuple(run.snapshot_xip),
        own_xact_id=run.own_xact_id,
        own_last_posting_id=run.own_last_posting_id,
    )


@dataclass(frozen=True)
class ExportedLine:
    posting_id: int
    receipt_number: str | None
    received_on: datetime.date
    reference: str | None
    fund_code: str
    entry: str
    amount_pence: int


def run_contents(run: ExportRun, *, limit: int) -> list[ExportedLine]:
    """The run's first lines, in the order they were written."""
    if run.status != ExportStatus.COMPLETED or run.first_posting_id is None:
        return []
    previous = snapshot_of(run.previous) if run.previous is not None else None
    window, params = window_condition(snapshot_of(run), previous)
    params |= {
        "accounts": run.account_ids,
        "first": run.first_posting_id,
        "last": run.last_posting_id,
        "limit": limit,
    }
    with connection.cursor() as cursor:
        cursor.execute(listing_sql(window), params)
        return [
            ExportedLine(posting, number, day, reference, fund, JournalKind(kind).label, pence)
            for posting, number, day, reference, fund, kind, pence in cursor.fetchall()
        ]


def _slug(name: str) -> str:
    return "".join(ch.lower() if ch.isalnum() else "-" for ch in name).strip("-")[:40] or "export"


@transaction.atomic
def save_export_target(
    *,
    council: Council,
    target: ExportTarget,
    acting_user: User,
    funds: Iterable[Fund] | None = None,
) -> None:
    """Save the target and, when given, the funds it exports, together and audited."""
    require_council_capability(acting_user, council, Capability.CONFIGURE_INCOME)
    # Checked here as well as in the form: these are written into every line of the file.
    problems = [
        problem
        for problem in (
            date_format_problem(target.date_format),
            formula_start_problem(target.control_ledger_code, "The control code"),
        )
        if problem
    ]
    if problems:
        raise ValidationError(problems)
    created = target.pk is None
    with transaction.atomic():
        funds_before = [] if created else sorted(target.funds.values_list("code", flat=True))
        target.save()
        if funds is not None:
            target.funds.set(funds)
        record_audit(
            "export_target.created" if created else "export_target.changed",
            acting_user=acting_user,
            target=target,
            before=None if created else {"funds": funds_before},
            after={
                "layout": target.layout,
                "fields": target.fields,
                "funds": sorted(target.funds.values_list("code", flat=True)),
            },
        )
