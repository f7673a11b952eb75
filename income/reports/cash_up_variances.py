"""Cash-up variances: each cash-up's count against what its receipts took, over and short.

Read from the cash-up's own fields (expected and counted; the variance is their difference,
as `CashUp.variance_pence` says), so it follows however cash-ups come to be counted; an
authorised one's variance is what its journal posted to cash over and short.
"""

from django.db.models import Count, F, Sum

from income.models import CashUp, CashUpStatus
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
from income.reports.takings import TILL_FIELDS, till_label_of


def cash_up_variances(period: Period, *, limit: int | None = None) -> Report:
    cash_ups = CashUp.objects.filter(business_date__range=(period.start, period.end))
    expected = F("expected_cash_pence") + F("expected_cheques_pence")
    counted = F("cash_counted_pence") + F("cheques_counted_pence")
    # Each till's sums, and the period's totals added up from them (one statement for both).
    per_till = list(
        cash_ups.exclude(status="rejected")
        .values("cashier_email", *TILL_FIELDS)
        .annotate(expected=Sum(expected), counted=Sum(counted), count=Count("pk"))
        .order_by()
    )
    total_expected = sum(row["expected"] for row in per_till)
    total_counted = sum(row["counted"] for row in per_till)
    statuses = dict(CashUpStatus.choices)
    # The shown cash-ups' own columns only: not their counted denominations and cheques,
    # whose JSON would be decoded for every row.
    shown = (
        cash_ups.order_by("business_date", "cashier_email", "pk")
        .annotate(expected=expected, counted=counted)
        .values("business_date", "cashier_email", "status", "expected", "counted",
                "note", *TILL_FIELDS)
    )  # fmt: skip
    shown, cut_short = limited(list(shown[: limit + 1] if limit else shown), limit)
    rows = [
        (row["business_date"], till_label_of(row), statuses.get(row["status"], row["status"]),
         row["expected"], row["counted"], row["counted"] - row["expected"], row["note"])
        for row in shown
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
    chart = Chart(
        "Variance by cashier and till",
        bars(
            [
                (till_label_of(row), row["counted"] - row["expected"], row["count"])
                for row in per_till
            ]
        ),
        "Cashier and till",
        "Cash-ups",
    )
    return Report("Cash-up variances", period, [table], chart)
