"""Aged suspense: money from receipts received in the period still in suspense at its end,
by receipt, oldest first, and by age band."""

from django.db import connection

from income.dashboard import AGE_BANDS
from income.models import Account, AccountKind
from income.reports.report import (
    Chart,
    Column,
    Kind,
    Period,
    Report,
    ReportTable,
    bars,
    limited,
    sql_limit,
)

# What each receipt received in the period still held in suspense at the period's end: its
# postings to suspense booked by then. The suspense account's postings are found by its
# index; only receipts with something left are read.
_HELD = """
WITH held AS (
    SELECT receipt_id, -sum(amount_pence) AS pence
    FROM income_posting
    WHERE account_id = %(account)s AND receipt_id IS NOT NULL AND booked_on <= %(end)s
    GROUP BY receipt_id
    HAVING sum(amount_pence) < 0
)
"""
_ROWS = (
    _HELD
    + """
SELECT r.number, r.received_on, r.payer_reference, r.payer_name, held.pence
FROM held JOIN income_receipt r ON r.id = held.receipt_id
WHERE r.received_on BETWEEN %(start)s AND %(end)s
ORDER BY r.received_on, r.id
{limit}
"""
)
_BANDS = (
    _HELD
    + """
SELECT CASE {cases} END AS band, sum(held.pence), count(*)
FROM held JOIN income_receipt r ON r.id = held.receipt_id
WHERE r.received_on BETWEEN %(start)s AND %(end)s
GROUP BY band
"""
)


def aged_suspense(period: Period, *, limit: int | None = None) -> Report:
    account = Account.objects.filter(kind=AccountKind.SUSPENSE).values_list("pk", flat=True)
    found, banded_totals = [], {}
    if account:
        params = {"account": account[0], "start": period.start, "end": period.end}
        cases = (
            " ".join(
                f"WHEN %(end)s - r.received_on <= {high} THEN {index}"
                for index, (_, high, _) in enumerate(AGE_BANDS)
                if high is not None
            )
            + f" ELSE {len(AGE_BANDS) - 1}"
        )
        with connection.cursor() as cursor:
            cursor.execute(_ROWS.format(limit=sql_limit(limit)), params)
            found = cursor.fetchall()
            cursor.execute(_BANDS.format(cases=cases), params)
            banded_totals = {band: (int(pence), n) for band, pence, n in cursor.fetchall()}
    found, cut_short = limited(found, limit)
    rows = [
        (number, received_on, (period.end - received_on).days, reference, name, int(pence))
        for number, received_on, reference, name, pence in found
    ]
    banded = [
        (label, *banded_totals.get(index, (0, 0))) for index, (_, _, label) in enumerate(AGE_BANDS)
    ]
    table = ReportTable(
        f"Receipts with money in suspense on {period.end:%-d %B %Y}, oldest first",
        [Column("Receipt"), Column("Received", Kind.DATE), Column("Age in days", Kind.COUNT),
         Column("Reference"), Column("Payer"), Column("In suspense", Kind.PENCE)],
        rows,
        ("Total", "", "", "", "", sum(pence for _, pence, _ in banded)),
        empty_text="Nothing from this period is in suspense.",
        cut_short=cut_short,
    )  # fmt: skip
    chart = Chart("Suspense by age", bars(banded, keep_order=True), "Age", "Receipts")
    return Report("Aged suspense", period, [table], chart)
