"""Cash-up variances: each cash-up's count against what its receipts took, over and short.

Read from the cash-up's own fields (expected and counted; the variance is their difference,
as `CashUp.variance_pence` says), so it follows however cash-ups come to be counted; an
authorised one's variance is what its journal posted to cash over and short.
"""

from income.reports.cash_up_reads import cash_up_rows, till_sums
from income.reports.report import Chart, Column, Kind, Period, Report, ReportTable, bars


def cash_up_variances(period: Period, *, limit: int | None = None) -> Report:
    per_till = till_sums(period)
    total_expected = sum(till.expected_pence for till in per_till)
    total_counted = sum(till.counted_pence for till in per_till)
    found, cut_short = cash_up_rows(period, standing_only=False, limit=limit)
    rows = [
        (row.business_date, row.label, row.status, row.expected_pence, row.counted_pence,
         row.counted_pence - row.expected_pence, row.note)
        for row in found
    ]  # fmt: skip
    table = ReportTable(
        "Cash-ups and their variances (over is positive, short negative)",
        [Column("Day", Kind.DATE), Column("Cashier and till"), Column("Status"),
         Column("Receipts took", Kind.PENCE), Column("Counted", Kind.PENCE),
         Column("Variance", Kind.PENCE), Column("Note")],
        rows,
        ("Total (returned cash-ups left out)", "", "", total_expected, total_counted,
         total_counted - total_expected, ""),
        empty_text="No cash-ups in this period.",
        cut_short=cut_short,
    )  # fmt: skip
    variances = [
        (till.label, till.counted_pence - till.expected_pence, till.cash_ups) for till in per_till
    ]
    chart = Chart(
        "Variance by cashier and till",
        bars(variances),
        "Cashier and till",
        "Cash-ups",
    )
    return Report("Cash-up variances", period, [table], chart)
