"""The numbers on a council's dashboard: income today and this month, suspense, refunds."""

import datetime
from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, Sum

from income.models import (
    Account,
    AccountKind,
    DailyAccountTotal,
    DailyChannelTakings,
    Refund,
    RefundStatus,
)

AGE_BANDS = ((0, 7, "Up to a week"), (8, 30, "8 to 30 days"), (31, 90, "31 to 90 days"),
             (91, None, "Over 90 days"))  # fmt: skip


@dataclass(frozen=True)
class Bar:
    label: str
    pence: int
    count: int
    share: int  # 0 to 100: the bar's length relative to the largest in its chart


@dataclass(frozen=True)
class Dashboard:
    today_by_fund: list[Bar]
    month_by_fund: list[Bar]
    month_by_channel: list[Bar]
    suspense_by_age: list[Bar]
    suspense_pence: int
    refunds_awaiting: int
    refunds_awaiting_pence: int


def _bars(rows: list[tuple[str, int, int]]) -> list[Bar]:
    largest = max((abs(pence) for _, pence, _ in rows), default=0)
    return [
        Bar(label, pence, count, round(abs(pence) * 100 / largest) if largest else 0)
        for label, pence, count in sorted(rows, key=lambda row: -row[1])
    ]


def income_by_fund(since: datetime.date, until: datetime.date) -> list[Bar]:
    """Money booked to each fund on those days (payments in, less refunds, transfers and
    reversals booked then), from the day totals the ledger keeps as it is written."""
    rows = (
        DailyAccountTotal.objects.filter(
            account__kind=AccountKind.FUND, booked_on__gte=since, booked_on__lte=until
        )
        .values("account__fund__code", "account__fund__name")
        .annotate(total=Sum("pence"), credits=Sum("receipt_credits"))
    )
    return _bars(
        [
            (f"{row['account__fund__code']} {row['account__fund__name']}", -row["total"],
             row["credits"])
            for row in rows
            if row["total"]
        ]
    )  # fmt: skip


def receipts_by_channel(since: datetime.date, until: datetime.date) -> list[Bar]:
    """Active receipts received on those days, by channel (day totals kept by the ledger)."""
    rows = (
        DailyChannelTakings.objects.filter(received_on__gte=since, received_on__lte=until)
        .values("channel__name")
        .annotate(total=Sum("pence"), receipts=Sum("receipts"))
    )
    return _bars(
        [(row["channel__name"], row["total"], row["receipts"]) for row in rows if row["receipts"]]
    )


# Receipts with money in suspense, banded by age in one pass over the suspense account's
# postings: no receipt is loaded into Python, however many there are.
_SUSPENSE_BY_AGE = """
SELECT CASE {cases} END AS band, sum(held.pence), count(*)
FROM (
    SELECT receipt_id, -sum(amount_pence) AS pence
    FROM income_posting
    WHERE account_id = %s AND receipt_id IS NOT NULL
    GROUP BY receipt_id
    HAVING sum(amount_pence) < 0
) AS held
JOIN income_receipt r ON r.id = held.receipt_id
GROUP BY band
"""


def suspense_by_age(today: datetime.date) -> list[Bar]:
    cases = (
        " ".join(
            f"WHEN %s - r.received_on <= {high} THEN {index}"
            for index, (_, high, _) in enumerate(AGE_BANDS)
            if high is not None
        )
        + f" ELSE {len(AGE_BANDS) - 1}"
    )
    bounded = sum(1 for _, high, _ in AGE_BANDS if high is not None)
    account = Account.objects.filter(kind=AccountKind.SUSPENSE).values_list("pk", flat=True)
    totals: dict[int, tuple[int, int]] = {}
    if account:
        with connection.cursor() as cursor:
            cursor.execute(_SUSPENSE_BY_AGE.format(cases=cases), [today] * bounded + [account[0]])
            totals = {band: (int(pence), count) for band, pence, count in cursor.fetchall()}
    rows = [(label, *totals.get(index, (0, 0))) for index, (_, _, label) in enumerate(AGE_BANDS)]
    largest = max((pence for _, pence, _ in rows), default=0)
    # Age bands keep their order; only the bar lengths are relative.
    return [
        Bar(label, pence, count, round(pence * 100 / largest) if largest else 0)
        for label, pence, count in rows
    ]


def build_dashboard(today: datetime.date) -> Dashboard:
    month_start = today.replace(day=1)
    ageing = suspense_by_age(today)
    awaiting = Refund.objects.filter(status=RefundStatus.REQUESTED).aggregate(
        count=Count("id"), total=Sum("amount_pence")
    )
    return Dashboard(
        today_by_fund=income_by_fund(today, today),
        month_by_fund=income_by_fund(month_start, today),
        month_by_channel=receipts_by_channel(month_start, today),
        suspense_by_age=ageing,
        suspense_pence=sum(bar.pence for bar in ageing),
        refunds_awaiting=awaiting["count"],
        refunds_awaiting_pence=awaiting["total"] or 0,
    )
