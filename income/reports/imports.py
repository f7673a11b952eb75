"""Imports uploaded in the period, what each brought in, and every line each rejected."""

from django.utils import timezone

from income.models import ImportBatch, ImportRejectedLine, ImportStatus
from income.reports.report import (
    Chart,
    Column,
    Kind,
    Period,
    Report,
    ReportTable,
    bars,
    limited,
)


def imports_report(period: Period, *, limit: int | None = None) -> Report:
    since, before = period.moments()
    batches = list(
        ImportBatch.objects.filter(uploaded_at__gte=since, uploaded_at__lt=before)
        .order_by("uploaded_at", "pk")
        .values_list(
            "pk", "uploaded_at", "file_name", "format", "status", "receipts_created",
            "receipts_pence", "adjustments_count", "suspense_count", "rejected_count",
        )
    )  # fmt: skip
    statuses = dict(ImportStatus.choices)
    rows = [
        (timezone.localdate(uploaded_at), f"Import {pk}", name, file_format,
         statuses.get(status, status), *counts)
        for pk, uploaded_at, name, file_format, status, *counts in batches
    ]  # fmt: skip
    rejected = ImportRejectedLine.objects.filter(
        batch__in=[batch[0] for batch in batches]
    ).order_by("batch_id", "line_number", "pk")
    found = rejected.values_list("batch_id", "line_number", "reason", "content")
    found, cut_short = limited(list(found[: limit + 1] if limit else found), limit)
    rejected_rows = [
        (f"Import {batch_id}", number, reason, content)
        for batch_id, number, reason, content in found
    ]
    batches_table = ReportTable(
        "Imports",
        [Column("Uploaded", Kind.DATE), Column("Import"), Column("File"), Column("Format"),
         Column("Status"), Column("Receipts", Kind.COUNT), Column("Amount", Kind.PENCE),
         Column("Money-back lines", Kind.COUNT), Column("To suspense", Kind.COUNT),
         Column("Rejected lines", Kind.COUNT)],
        rows,
        ("Total", "", "", "", "", *(sum(row[index] for row in rows) for index in range(5, 10))),
        empty_text="No files were imported in this period.",
    )  # fmt: skip
    rejected_table = ReportTable(
        "Rejected lines",
        [Column("Import"), Column("Line", Kind.COUNT), Column("Why"), Column("Line as read")],
        rejected_rows,
        None,
        empty_text="No lines were rejected.",
        cut_short=cut_short,
    )
    chart = Chart(
        "Receipts imported by file",
        bars([(row[1], row[6], row[5]) for row in rows], keep_order=True),
        "Import",
        "Receipts",
    )
    return Report(
        "Imports and their rejected lines", period, [batches_table, rejected_table], chart
    )
