"""Daily takings by fund, channel, user and till."""

from django.db import connection
from django.db.models import Sum

from income.models import (
    AccountKind,
    DailyAccountTotal,
    DailyChannelTakings,
)
from income.reports.cash_up_reads import cash_up_rows, till_sums
from income.reports.report import (
    Chart,
    Column,
    Kind,
    Period,
    Report,
    ReportTable,
    bars,
    total_by_label,
)
from tenants.models import User

DAY = Column("Day", Kind.DATE)
NOT_STAFF = "Not taken by staff (files, card and online payments)"


def _totals(rows: list[tuple], count: int, pence: int) -> tuple:
    return ("Total", "", sum(row[count] for row in rows), sum(row[pence] for row in rows))


def takings_by_fund(period: Period) -> Report:
    """Money booked to each fund each day (payments in, less refunds, transfers and
    reversals booked that day): the ledger's day totals."""
    found = (
        DailyAccountTotal.objects.filter(
            account__kind=AccountKind.FUND, booked_on__range=(period.start, period.end)
        )
        .values("booked_on", "account__fund__code", "account__fund__name")
        .annotate(total=Sum("pence"), credits=Sum("receipt_credits"))
        .order_by("booked_on", "account__fund__code")
    )
    rows = [
        (row["booked_on"], f"{row['account__fund__code']} {row['account__fund__name']}",
         row["credits"], -row["total"])
        for row in found
        if row["total"] or row["credits"]
    ]  # fmt: skip
    table = ReportTable(
        "Takings by fund, day by day",
        [DAY, Column("Fund"), Column("Payments in", Kind.COUNT), Column("Amount", Kind.PENCE)],
        rows,
        _totals(rows, 2, 3),
    )
    chart = Chart("Takings by fund", total_by_label(rows, 1, 3, 2), "Fund", "Payments in")
    return Report("Daily takings by fund", period, [table], chart)


def takings_by_channel(period: Period) -> Report:
    """Receipts received each day by each channel (reversed receipts left out)."""
    found = (
        DailyChannelTakings.objects.filter(received_on__range=(period.start, period.end))
        .values("received_on", "channel__name")
        .annotate(receipts_=Sum("receipts"), total=Sum("pence"))
        .order_by("received_on", "channel__name")
    )
    rows = [
        (row["received_on"], row["channel__name"], row["receipts_"], row["total"])
        for row in found
        if row["receipts_"]
    ]
    table = ReportTable(
        "Takings by channel, day by day",
        [DAY, Column("Channel"), Column("Receipts", Kind.COUNT), Column("Amount", Kind.PENCE)],
        rows,
        _totals(rows, 2, 3),
    )
    chart = Chart("Takings by channel", total_by_label(rows, 1, 3, 2), "Channel", "Receipts")
    return Report("Daily takings by channel", period, [table], chart)


_BY_USER = """
SELECT received_on, created_by_id, count(*), sum(amount_pence)
FROM income_receipt
WHERE received_on BETWEEN %s AND %s AND status = 'active'
GROUP BY received_on, created_by_id
ORDER BY received_on, created_by_id NULLS LAST
"""


def takings_by_user(period: Period) -> Report:
    """Receipts received each day, by the person who recorded them (reversed ones left out)."""
    with connection.cursor() as cursor:
        cursor.execute(_BY_USER, [period.start, period.end])
        found = cursor.fetchall()
    people = dict(
        User.objects.filter(pk__in={row[1] for row in found if row[1]}).values_list("pk", "email")
    )
    rows = [
        (day, people.get(user_id, f"Person {user_id}") if user_id else NOT_STAFF, count, int(pence))
        for day, user_id, count, pence in found
    ]
    table = ReportTable(
        "Takings by person, day by day",
        [DAY, Column("Taken by"), Column("Receipts", Kind.COUNT), Column("Amount", Kind.PENCE)],
        rows,
        _totals(rows, 2, 3),
    )
    chart = Chart("Takings by person", total_by_label(rows, 1, 3, 2), "Taken by", "Receipts")
    return Report("Daily takings by user", period, [table], chart)


def takings_by_till(period: Period, *, limit: int | None = None) -> Report:
    """Each till's cash and cheques as its cash-up counted them, beside what its receipts took
    (cash-ups returned to the cashier are left out: they are counted again)."""
    per_till = till_sums(period)
    found, cut_short = cash_up_rows(period, standing_only=True, limit=limit)
    rows = [
        (row.business_date, row.label, row.status, row.expected_pence, row.counted_pence)
        for row in found
    ]
    table = ReportTable(
        "Takings by till (each cash-up), day by day",
        [DAY, Column("Cashier and till"), Column("Status"),
         Column("Receipts took", Kind.PENCE), Column("Counted", Kind.PENCE)],
        rows,
        # The period's totals, added up from each till's sums.
        ("Total", "", "", sum(till.expected_pence for till in per_till),
         sum(till.counted_pence for till in per_till)),
        cut_short=cut_short,
    )  # fmt: skip
    chart = Chart(
        "Takings by till",
        bars([(till.label, till.expected_pence, till.cash_ups) for till in per_till]),
        "Cashier and till",
        "Cash-ups",
    )
    return Report("Daily takings by till", period, [table], chart)
