"""Damaged files: a file whose own checks failed (its trailer, control totals or balances,
income.formats.records.FileTotals) is held whole, with nothing posted, until someone allowed
to decides (income.actions.damaged_imports).

The checks are the file's last words (its trailer, its closing balance), so they are known
only once every line is read, and by then the import has posted its chunks. Damaged files
are rare: rather than read every file twice, the import raises `FileDamaged` at the end and
its one transaction rolls back, so nothing of the file stays in the ledger; the batch is then
marked held, with the problems and what the file holds.
"""

from itertools import islice
from typing import Any

from django.db import transaction
from django.utils import timezone

from income.formats.records import (
    FileRefused,
    FileTotals,
    PaymentRecord,
    ReadOptions,
    RejectedLine,
)
from income.formats.registry import read_file
from income.imports.storage import import_files
from income.models import ImportBatch, ImportStatus
from tenants.audit.recording import record_audit
from tenants.models import User

SHOWN_LINES = 200


class FileDamaged(Exception):
    """The file's own checks failed: its import is held (raised inside the import's
    transaction, so that everything it posted rolls back)."""

    def __init__(self, problems: list[str], summary: dict[str, int]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems
        self.summary = summary


def check_file_totals(
    batch: ImportBatch,
    file_totals: FileTotals | None,
    *,
    lines_read: int,
    rejected_count: int,
    totals: list[int],
) -> None:
    """Raise FileDamaged if the file says it is damaged, unless someone allowed to decided
    to import it anyway. `totals` are the import's running totals (lines and pence in, then
    lines and pence taken back, ...), what the file would have posted."""
    if file_totals is None or not file_totals.problems or batch.import_anyway:
        return
    payments_in, pence_in, payments_out, pence_out = totals[:4]
    summary = {
        "lines_read": lines_read,
        "payments_in": payments_in,
        "pence_in": pence_in,
        "payments_out": payments_out,
        "pence_out": pence_out,
        "rejected_count": rejected_count,
    }
    raise FileDamaged(list(file_totals.problems), summary)


def hold_damaged(batch: ImportBatch, damaged: FileDamaged, user: User | None) -> None:
    """Mark the batch held (after its import rolled back), with why and what it holds."""
    with transaction.atomic():
        held = ImportBatch.objects.filter(pk=batch.pk, status=ImportStatus.RUNNING).update(
            status=ImportStatus.HELD,
            message=(
                "The file is damaged: its own totals do not agree with its lines, so nothing "
                "from it was imported. Someone allowed to can import it anyway (saying why) "
                "or cancel it."
            ),
            problems=damaged.problems,
            held_summary=damaged.summary,
            lines_read=damaged.summary.get("lines_read", 0),
            finished_at=timezone.now(),
            phase="",
        )
        if held:
            batch.refresh_from_db()
            record_audit(
                "import.held",
                acting_user=user,
                target=batch,
                after={"problems": damaged.problems, **damaged.summary},
            )


def first_lines(batch: ImportBatch, limit: int = SHOWN_LINES) -> list[Any]:
    """The first lines of a held file as its format reads them (records and rejected
    lines), for whoever decides: read from the stored file, as nothing of it is posted."""
    options = ReadOptions(
        mapping=batch.mapping.spec() if batch.mapping is not None else None,
        default_date=batch.default_date,
    )
    files = import_files()
    if not files.exists(batch.sha256):
        return []
    with files.open(batch.sha256) as stream:
        try:
            items = read_file(batch.format, stream, options=options)
            return [
                item
                for item in islice(items, limit + 1)
                if isinstance(item, PaymentRecord | RejectedLine)
            ][:limit]
        except FileRefused:
            return []
