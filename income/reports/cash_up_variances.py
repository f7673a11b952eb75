"""Cash-up variances: each cash-up's count against what its receipts took, over and short.

Read from the cash-up's own fields (expected, counted, `variance_pence`), so it follows
however cash-ups come to be counted; an authorised one's variance is what its journal
posted to cash over and short.
"""

from income.models import CashUp
from income.reports.report import Chart, Column, Kind, Period, Report, ReportTable, bars
from income.reports.takings import till_label


def cash_up_variances(period: Period) -> Report:
    cash_ups = CashUp.objects.filter(business_date__range=(period.start, period.end)).order_by(
        "business_date", "cashier_email", "pk"
    )
    rows = []
    for cash_up in cash_ups:
        expected = cash_up.expected_cash_pence + cash_up.expected_cheques_pence
        counted = cash_up.cash_counted_pence + cash_up.cheques_counted_pence
        rows.append(
            (cash_up.business_date, till_label(cash_up), cash_up.get_status_display(),
             expected, counted, cash_up.variance_pence, cash_up.note)
        )  # fmt: skip
    standing = [
        row for row, cash_up in zip(rows, cash_ups, strict=True) if cash_up.status != "rejected"
    ]
    table = ReportTable(
        "Cash-ups and their variances (over is positive, short negative)",
        [Column("Day", Kind.DATE), Column("Cashier and till"), Column("Status"),
         Column("Receipts took", Kind.PENCE), Column("Counted", Kind.PENCE),
         Column("Variance", Kind.PENCE), Column("Note")],
        rows,
        ("Total (returned cash-ups left out)", "", "", sum(row[3] for row in standing),
         sum(row[4] for row in standing), sum(row[5] for row in standing), ""),
        empty_text="No cash-ups in this period.",
    )  # fmt: skip
    per_cashier: dict[str, list[int]] = {}
    for row in standing:
        entry = per_cashier.setdefault(row[1], [0, 0])
        entry[0] += row[5]
        entry[1] += 1
    chart = Chart(
        "Variance by cashier and till",
        bars([(label, pence, count) for label, (pence, count) in per_cashier.items()]),
        "Cashier and till",
        "Cash-ups",
    )
    return Report("Cash-up variances", period, [table], chart)
