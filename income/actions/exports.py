"""Running an export: every receipt not yet sent to the target whose money sits in the
target's funds, once, in the target's layout; the file kept byte for byte."""

import csv
import hashlib
import io
import logging
import time

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from income.exports.layout import FieldSpec, LayoutSpec, neutralise, render
from income.imports.storage import council_folder
from income.models import ExportRun, ExportTarget
from tenants.audit.recording import record_audit
from tenants.capabilities import Capability, require_council_capability
from tenants.models import Council, User

logger = logging.getLogger(__name__)

# Receipts not yet sent to this target, with what each holds in the target's funds now.
CLAIM = """
CREATE TEMP TABLE export_lines ON COMMIT DROP AS
SELECT p.receipt_id, a.fund_id, -sum(p.amount_pence)::bigint AS pence
FROM income_posting p
JOIN income_account a ON a.id = p.account_id AND a.kind = 'fund'
JOIN income_receipt r ON r.id = p.receipt_id AND r.status = 'active'
WHERE (cardinality(%(funds)s::bigint[]) = 0 OR a.fund_id = ANY(%(funds)s::bigint[]))
  AND NOT EXISTS (
      SELECT 1 FROM income_exportedreceipt e
      WHERE e.target_id = %(target)s AND e.receipt_id = p.receipt_id
  )
GROUP BY p.receipt_id, a.fund_id
HAVING sum(p.amount_pence) < 0
"""
RECORD = """
INSERT INTO income_exportedreceipt (target_id, run_id, receipt_id, amount_pence)
SELECT %(target)s, %(run)s, receipt_id, sum(pence) FROM export_lines GROUP BY receipt_id
"""
LINES = """
SELECT r.number, r.received_on, r.payer_reference, r.payer_name, r.narrative, c.code,
    f.code, f.name, f.ledger_code, f.cost_centre, f.subjective, v.code, l.pence
FROM export_lines l
JOIN income_receipt r ON r.id = l.receipt_id
JOIN income_channel c ON c.id = r.channel_id
JOIN income_fund f ON f.id = l.fund_id
LEFT JOIN income_vatcode v ON v.id = f.vat_code_id
ORDER BY r.received_on, r.id, f.code
"""
# The general-ledger journal: income credited per day, ledger code, cost centre and VAT
# code, and each day's total debited to the control code, so debits equal credits.
GL_LINES = """
SELECT r.received_on, f.ledger_code, f.cost_centre, coalesce(v.code, ''), sum(l.pence)::bigint,
    count(DISTINCT l.receipt_id)
FROM export_lines l
JOIN income_receipt r ON r.id = l.receipt_id
JOIN income_fund f ON f.id = l.fund_id
LEFT JOIN income_vatcode v ON v.id = f.vat_code_id
GROUP BY 1, 2, 3, 4
ORDER BY 1, 2, 3, 4
"""
COLUMNS = (
    "receipt_number", "received_on", "reference", "payer_name", "narrative", "channel",
    "fund_code", "fund_name", "ledger_code", "cost_centre", "subjective", "vat_code", "amount",
)  # fmt: skip


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


@transaction.atomic
def run_export(*, council: Council, target: ExportTarget, acting_user: User | None) -> ExportRun:
    """Make the target's next file. Runs for one target queue behind each other (the
    target's row is locked), so no receipt is ever in two of its files."""
    if acting_user is not None:
        require_council_capability(acting_user, council, Capability.RUN_EXPORTS)
    target = ExportTarget.objects.select_for_update().get(pk=target.pk)
    if not target.is_active:
        raise ValidationError(f"{target.name} is not in use.")
    if not target.fields and target.layout != "gl_journal":
        raise ValidationError(f"{target.name} has no fields in its layout.")
    made_at = timezone.now()
    run = ExportRun.objects.create(
        target=target,
        file_name="",
        sha256="",
        created_by_id=getattr(acting_user, "pk", None),
        created_by_email=getattr(acting_user, "email", "") or "",
    )
    folder = council_folder().parent / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = lines = total = 0
    partial = folder / f".run-{run.pk}"
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS export_lines")
        funds = list(target.funds.values_list("pk", flat=True))
        began = time.perf_counter()
        cursor.execute(CLAIM, {"funds": funds, "target": target.pk})
        claimed = time.perf_counter()
        cursor.execute(RECORD, {"target": target.pk, "run": run.pk})
        receipts = cursor.rowcount
        recorded = time.perf_counter()
        if target.layout == "gl_journal":
            cursor.execute(GL_LINES)
            chunks, lines, total = _gl_journal(cursor.fetchall(), target)
        else:
            cursor.execute(LINES)
            chunks = None

        def rows():
            nonlocal lines, total
            while batch := cursor.fetchmany(5000):
                for values in batch:
                    lines += 1
                    total += values[-1]
                    yield dict(zip(COLUMNS, values, strict=True))

        with partial.open("wb") as out:
            for chunk in chunks or render(layout_of(target), rows(), made_on=made_at.date()):
                data = chunk.encode("utf-8")
                digest.update(data)
                size += len(data)
                out.write(data)
        cursor.execute("DROP TABLE export_lines")
    logger.info(
        "export %s: claim %.2fs, record %.2fs, write %.2fs",
        run.pk,
        claimed - began,
        recorded - claimed,
        time.perf_counter() - recorded,
    )
    sha256 = digest.hexdigest()
    extension = "csv" if target.layout == "csv" else "txt"
    run.file_name = (
        f"{_slug(target.name)}-{timezone.localtime(made_at):%Y%m%d-%H%M%S}-{run.pk}.{extension}"
    )
    run.sha256 = sha256
    run.size_bytes = size
    run.line_count = lines
    run.receipt_count = receipts
    run.total_pence = total
    run.save()
    partial.replace(folder / sha256)
    record_audit(
        "export.run",
        acting_user=acting_user,
        target=run,
        after={"target": target.name, "receipts": receipts, "total_pence": total},
    )
    return run


def _gl_journal(rows: list[tuple], target: ExportTarget) -> tuple[list[str], int, int]:
    """CSV lines: date, ledger code, cost centre, VAT code, debit, credit, description."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        ["date", "ledger_code", "cost_centre", "vat_code", "debit", "credit", "description"]
    )
    control = target.control_ledger_code or "CONTROL"
    lines = total = 0
    by_day: dict = {}
    for day, ledger_code, cost_centre, vat_code, pence, receipts in rows:
        by_day.setdefault(day, []).append((ledger_code, cost_centre, vat_code, pence, receipts))
    for day, entries in by_day.items():
        day_total = sum(entry[3] for entry in entries)
        when = day.strftime(target.date_format)
        writer.writerow([when, control, "", "", _pounds(day_total), "", "Income banked"])
        for ledger_code, cost_centre, vat_code, pence, receipts in entries:
            writer.writerow(
                [
                    when,
                    neutralise(ledger_code),
                    neutralise(cost_centre),
                    neutralise(vat_code),
                    "",
                    _pounds(pence),
                    f"{receipts} receipt{'s' if receipts != 1 else ''}",
                ]
            )
        lines += len(entries) + 1
        total += day_total
    debits = credits = _pounds(total)
    writer.writerow(["TOTAL", "", "", "", debits, credits, f"{lines} lines"])
    return [out.getvalue()], lines, total


def _pounds(pence: int) -> str:
    whole, part = divmod(pence, 100)
    return f"{whole}.{part:02d}"


def export_path(run: ExportRun):
    return council_folder().parent / "exports" / run.sha256


def _slug(name: str) -> str:
    return "".join(ch.lower() if ch.isalnum() else "-" for ch in name).strip("-")[:40] or "export"


@transaction.atomic
def save_export_target(*, council: Council, target: ExportTarget, acting_user: User) -> None:
    require_council_capability(acting_user, council, Capability.CONFIGURE_INCOME)
    created = target.pk is None
    target.save()
    record_audit(
        "export_target.created" if created else "export_target.changed",
        acting_user=acting_user,
        target=target,
        after={"layout": target.layout, "fields": target.fields},
    )
