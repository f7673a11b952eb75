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
)

# What each receipt received in the period still held in suspense at the period's end: its
# postings to suspense booked by then. One statement gives the rows, the total and the age
# bands alike (only receipts with something left are read, a small share of the period's).
_HELD = """
SELECT r.number, r.received_on, r.payer_reference, r.payer_name, held.pence
FROM (
    SELECT receipt_id, -sum(amount_pence) AS pence
    FROM income_posting
    WHERE account_id = %(account)s AND receipt_id IS NOT NULL AND booked_on <= %(end)s
    GROUP BY receipt_id
    HAVING sum(amount_pence) < 0
) AS held
JOIN income_receipt r ON r.id = held.receipt_id
WHERE r.received_on BETWEEN %(start)s AND %(end)s
ORDER BY r.received_on, r.id
"""


def aged_suspense(period: Period, *, limit: int | None = None) -> Report:
    account = Account.objects.filter(kind=AccountKind.SUSPENSE).values_list("pk", flat=True)
    found = []
    if account:
        params = {"account": account[0], "start": period.start, "end": period.end}
        with connection.cursor() as cursor:
            cursor.execute(_HELD, params)
            found = cursor.fetchall()
    every = [
        (number, received_on, (period.end - received_on).days, reference, name, int(pence))
        for number, received_on, reference, name, pence in found
    ]
    rows, cut_short = limited(every, limit)
    banded = []
    for low, high, label in AGE_BANDS:
        band = [row for row in every if row[2] >= low and (high is None or row[2] <= high)]
        banded.append((label, sum(row[5] for row in band), len(band)))
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
