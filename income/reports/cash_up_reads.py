"""What the till reports (takings by till, cash-up variances) read of a period's cash-ups, in
SQL of their own: the same two reads through the ORM (its compiling and a dict for each row)
were most of those pages' own time, about twice their SQL."""

import datetime
from dataclasses import dataclass

from django.db import connection

from income.models import CashUpStatus
from income.reports.report import Period, limited, sql_limit

# Cash-ups returned to the cashier are counted again, so they leave the sums.
_PER_TILL = """
SELECT cashier_email, till, sum(expected_cash_pence + expected_cheques_pence),
    sum(cash_counted_pence + cheques_counted_pence), count(*)
FROM income_cashup
WHERE business_date BETWEEN %s AND %s AND status <> 'rejected'
GROUP BY cashier_email, till
ORDER BY cashier_email, till
"""
_CASH_UPS = """
SELECT business_date, cashier_email, till, status,
    expected_cash_pence + expected_cheques_pence, cash_counted_pence + cheques_counted_pence, note
FROM income_cashup
WHERE business_date BETWEEN %s AND %s {standing}
ORDER BY business_date, cashier_email, id
{limit}
"""


def till_label(cashier_email: str, till: str) -> str:
    """The cashier, and the till counted where the cash-up names one."""
    return f"{cashier_email} ({till})" if till else cashier_email


@dataclass(frozen=True)
class TillSums:
    label: str
    expected_pence: int
    counted_pence: int
    cash_ups: int


@dataclass(frozen=True)
class CashUpRow:
    business_date: datetime.date
    label: str
    status: str  # as people read it
    expected_pence: int
    counted_pence: int
    note: str


def till_sums(period: Period) -> list[TillSums]:
    """Each cashier and till's cash-ups in the period (returned ones left out), summed."""
    with connection.cursor() as cursor:
        cursor.execute(_PER_TILL, [period.start, period.end])
        return [
            TillSums(till_label(email, till), int(expected), int(counted), count)
            for email, till, expected, counted, count in cursor.fetchall()
        ]


def cash_up_rows(
    period: Period, *, standing_only: bool, limit: int | None
) -> tuple[list[CashUpRow], bool]:
    """The period's cash-ups by day and cashier (returned ones too unless `standing_only`),
    the first `limit` of them, and whether there were more."""
    statuses = dict(CashUpStatus.choices)
    sql = _CASH_UPS.format(
        standing="AND status <> 'rejected'" if standing_only else "", limit=sql_limit(limit)
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [period.start, period.end])
        found = cursor.fetchall()
    rows = [
        CashUpRow(day, till_label(email, till), statuses.get(status, status), expected, counted,
                  note)
        for day, email, till, status, expected, counted, note in found
    ]  # fmt: skip
    return limited(rows, limit)
