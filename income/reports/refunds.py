"""Refunds raised, approved and paid in the period.

Raised is when someone asked for it; approved and paid are the days the ledger booked them:
approval moves the money to refunds payable, payment takes it out (to the card's clearing
account or the bank).
"""

from django.db import connection

from income.models import Account, AccountKind, Refund
from income.reports.report import Chart, Column, Kind, Period, Report, ReportTable, bars

# The journals that moved money through refunds payable in the period: approvals credit it,
# payments debit it.
_MOVEMENTS = """
SELECT p.booked_on, j.kind, r.number, p.amount_pence, j.created_by_email, j.id
FROM income_posting p
JOIN income_journal j ON j.id = p.journal_id
LEFT JOIN income_receipt r ON r.id = p.receipt_id
WHERE p.account_id = %s AND p.booked_on BETWEEN %s AND %s
ORDER BY p.booked_on, p.id
"""

WHAT = {"refund": "Approved", "refund_paid": "Paid", "reversal": "Approval reversed"}


def refunds_report(period: Period) -> Report:
    raised = (
        Refund.objects.filter(raised_at__date__range=(period.start, period.end))
        .select_related("receipt", "fund")
        .order_by("raised_at", "pk")
    )
    raised_rows = [
        (refund.raised_at.date(), refund.receipt.number,
         refund.fund.code if refund.fund else "Suspense", refund.get_route_display(),
         refund.get_status_display(), refund.raised_by_email, refund.amount_pence)
        for refund in raised
    ]  # fmt: skip
    movement_rows = []
    account = Account.objects.filter(kind=AccountKind.REFUNDS_PAYABLE).values_list("pk", flat=True)
    if account:
        with connection.cursor() as cursor:
            cursor.execute(_MOVEMENTS, [account[0], period.start, period.end])
            for day, kind, number, pence, email, journal_id in cursor.fetchall():
                what = WHAT.get(kind, kind)
                if kind not in WHAT:
                    what = "Paid" if pence > 0 else "Approved"
                # Approvals credit refunds payable, payments debit it: both shown as money.
                movement_rows.append((day, what, number or "", email, f"J{journal_id}", -pence
                                      if pence < 0 else pence))  # fmt: skip
    raised_table = ReportTable(
        "Refunds raised",
        [Column("Raised", Kind.DATE), Column("Receipt"), Column("From"), Column("Route"),
         Column("Status now"), Column("Raised by"), Column("Amount", Kind.PENCE)],
        raised_rows,
        ("Total", "", "", "", "", "", sum(row[6] for row in raised_rows)),
        empty_text="No refunds were raised in this period.",
    )  # fmt: skip
    approved = [row for row in movement_rows if row[1] == "Approved"]
    paid = [row for row in movement_rows if row[1] == "Paid"]
    movements_table = ReportTable(
        "Refunds approved and paid (as the ledger booked them)",
        [Column("Booked", Kind.DATE), Column("What"), Column("Receipt"), Column("By"),
         Column("Journal"), Column("Amount", Kind.PENCE)],
        movement_rows,
        None,
        empty_text="No refunds were approved or paid in this period.",
    )  # fmt: skip
    chart = Chart(
        "Refunds raised, approved and paid",
        bars(
            [("Raised", sum(row[6] for row in raised_rows), len(raised_rows)),
             ("Approved", sum(row[5] for row in approved), len(approved)),
             ("Paid", sum(row[5] for row in paid), len(paid))],
            keep_order=True,
        ),
        "",
        "Refunds",
    )  # fmt: skip
    return Report("Refunds raised, approved and paid", period, [raised_table, movements_table],
                  chart)  # fmt: skip
