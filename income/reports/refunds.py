"""Refunds raised, approved and paid in the period.

Raised is when someone asked for it; approved and paid are the days the ledger booked them:
approval moves the money to refunds payable, payment takes it out (to the card's clearing
account or the bank).
"""

from django.db import connection

from income.models import Account, AccountKind, RefundRoute, RefundStatus
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

_RAISED_WHERE = "WHERE f.raised_at >= %(since)s AND f.raised_at < %(before)s"
_RAISED = f"""
SELECT f.raised_at, r.number, coalesce(fund.code, 'Suspense'), f.route, f.status,
    f.raised_by_email, f.amount_pence
FROM income_refund f
JOIN income_receipt r ON r.id = f.receipt_id
LEFT JOIN income_fund fund ON fund.id = f.fund_id
{_RAISED_WHERE}
ORDER BY f.raised_at, f.id
{{limit}}
"""  # noqa: S608 - only this module's own constants are formatted in
_RAISED_TOTAL = (
    f"SELECT count(*), coalesce(sum(f.amount_pence), 0) FROM income_refund f {_RAISED_WHERE}"  # noqa: S608
)

# The journals that moved money through refunds payable in the period: approvals credit it,
# payments debit it (a reversed approval debits it too, and is named as such).
_MOVED_FROM = "FROM income_posting p JOIN income_journal j ON j.id = p.journal_id"
_MOVED_WHERE = "WHERE p.account_id = %(account)s AND p.booked_on BETWEEN %(start)s AND %(end)s"
_WHAT = """CASE WHEN j.kind = 'reversal' THEN 'Approval reversed'
    WHEN p.amount_pence < 0 THEN 'Approved' ELSE 'Paid' END"""
_MOVEMENTS = f"""
SELECT p.booked_on, {_WHAT}, r.number, j.created_by_email, 'J' || j.id, abs(p.amount_pence)
{_MOVED_FROM} LEFT JOIN income_receipt r ON r.id = p.receipt_id
{_MOVED_WHERE}
ORDER BY p.booked_on, p.id
{{limit}}
"""
_MOVED_TOTALS = (
    f"SELECT {_WHAT}, count(*), sum(abs(p.amount_pence)) {_MOVED_FROM} {_MOVED_WHERE} GROUP BY 1"
)


def refunds_report(period: Period, *, limit: int | None = None) -> Report:
    since, before = period.moments()
    routes, statuses = dict(RefundRoute.choices), dict(RefundStatus.choices)
    params = {"since": since, "before": before, "start": period.start, "end": period.end}
    account = Account.objects.filter(kind=AccountKind.REFUNDS_PAYABLE).values_list("pk", flat=True)
    params["account"] = account[0] if account else 0
    with connection.cursor() as cursor:
        cursor.execute(_RAISED.format(limit=sql_limit(limit)), params)
        raised_found = cursor.fetchall()
        cursor.execute(_RAISED_TOTAL, params)
        raised_count, raised_pence = cursor.fetchone()
        cursor.execute(_MOVEMENTS.format(limit=sql_limit(limit)), params)
        moved_found = cursor.fetchall()
        cursor.execute(_MOVED_TOTALS, params)
        moved = {what: (int(pence), count) for what, count, pence in cursor.fetchall()}
    raised_found, raised_cut = limited(raised_found, limit)
    moved_found, moved_cut = limited(moved_found, limit)
    raised_rows = [
        (when, number, fund, routes.get(route, route), statuses.get(status, status), email, pence)
        for when, number, fund, route, status, email, pence in raised_found
    ]
    raised_table = ReportTable(
        "Refunds raised",
        [Column("Raised", Kind.TIME), Column("Receipt"), Column("From"), Column("Route"),
         Column("Status now"), Column("Raised by"), Column("Amount", Kind.PENCE)],
        raised_rows,
        ("Total", "", "", "", "", "", int(raised_pence)),
        empty_text="No refunds were raised in this period.",
        cut_short=raised_cut,
    )  # fmt: skip
    movements_table = ReportTable(
        "Refunds approved and paid (as the ledger booked them)",
        [Column("Booked", Kind.DATE), Column("What"), Column("Receipt"), Column("By"),
         Column("Journal"), Column("Amount", Kind.PENCE)],
        [tuple(row) for row in moved_found],
        None,
        empty_text="No refunds were approved or paid in this period.",
        cut_short=moved_cut,
    )  # fmt: skip
    chart = Chart(
        "Refunds raised, approved and paid",
        bars(
            [("Raised", int(raised_pence), raised_count),
             ("Approved", *moved.get("Approved", (0, 0))),
             ("Paid", *moved.get("Paid", (0, 0)))],
            keep_order=True,
        ),
        "",
        "Refunds",
    )  # fmt: skip
    return Report("Refunds raised, approved and paid", period, [raised_table, movements_table],
                  chart)  # fmt: skip
