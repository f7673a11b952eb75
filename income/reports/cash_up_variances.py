"""Cash-up variances: each cash-up's count against what its receipts took, over and short.

Read from the cash-up's own fields (expected, counted, `variance_pence`), so it follows
however cash-ups come to be counted; an authorised one's variance is what its journal
posted to cash over and short.
"""

from django.db.models import Count, F, Sum

from income.models import CashUp
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
from income.reports.takings import TILL_FIELDS, till_label, till_label_of


def cash_up_variances(period: Period, *, limit: int | None = None) -> Report:
    cash_ups = CashUp.objects.filter(business_date__range=(period.start, period.end))
    standing = cash_ups.exclude(status="rejected")
    totals = standing.aggregate(
        expected=Sum(F("expected_cash_pence") + F("expected_cheques_pence"), default=0),
        counted=Sum(F("cash_counted_pence") + F("cheques_counted_pence"), default=0),
    )
    per_till = (
        standing.values("cashier_email", *TILL_FIELDS)
        .annotate(
            variance=Sum(
                F("cash_counted_pence") + F("cheques_counted_pence")
                - F("expected_cash_pence") - F("expected_cheques_pence")
            ),
            count=Count("pk"),
        )
        .order_by()
    )  # fmt: skip
    shown = cash_ups.order_by("business_date", "cashier_email", "pk")
    shown, cut_short = limited(list(shown[: limit + 1] if limit else shown), limit)
    rows = [
        (cash_up.business_date, till_label(cash_up), cash_up.get_status_display(),
         cash_up.expected_cash_pence + cash_up.expected_cheques_pence,
         cash_up.cash_counted_pence + cash_up.cheques_counted_pence, cash_up.variance_pence,
         cash_up.note)
        for cash_up in shown
    ]  # fmt: skip
    table = ReportTable(
        "Cash-ups and their variances (over is positive, short negative)",
        [Column("Day", Kind.DATE), Column("Cashier and till"), Column("Status"),
         Column("Receipts took", Kind.PENCE), Column("Counted", Kind.PENCE),
         Column("Variance", Kind.PENCE), Column("Note")],
        rows,
        ("Total (returned cash-ups left out)", "", "", totals["expected"], totals["counted"],
         totals["counted"] - totals["expected"], ""),
        empty_text="No cash-ups in this period.",
        cut_short=cut_short,
    )  # fmt: skip
    chart = Chart(
        "Variance by cashier and till",
        bars([(till_label_of(row), row["variance"], row["count"]) for row in per_till]),
        "Cashier and till",
        "Cash-ups",
    )
    return Report("Cash-up variances", period, [table], chart)
