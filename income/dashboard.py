"""The numbers on a council's dashboard: income today and this month, suspense, refunds."""

import datetime
from dataclasses import dataclass

from django.db.models import Count, Sum

from income.fund_visibility import is_restricted, visible_funds, visible_receipts, visible_refunds
from income.models import AccountKind, Posting, Receipt, ReceiptStatus, Refund, RefundStatus
from income.suspense_worklist import suspense_items
from income.unexplained_debits import open_debits_total
from tenants.models import Membership

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
    # Money out that no receipt explains: beside suspense, never netted against it.
    unexplained_debits: int = 0
    unexplained_debits_pence: int = 0


def _bars(rows: list[tuple[str, int, int]]) -> list[Bar]:
    largest = max((abs(pence) for _, pence, _ in rows), default=0)
    return [
        Bar(label, pence, count, round(abs(pence) * 100 / largest) if largest else 0)
        for label, pence, count in sorted(rows, key=lambda row: -row[1])
    ]


def income_by_fund(
    since: datetime.date, until: datetime.date, visible_to: Membership | None = None
) -> list[Bar]:
    """Money that reached each fund, by the date its receipt was received (net of refunds and
    transfers made against those receipts)."""
    postings = Posting.objects.filter(
        account__kind=AccountKind.FUND,
        receipt__received_on__gte=since,
        receipt__received_on__lte=until,
    )
    if visible_to is not None and is_restricted(visible_to):
        postings = postings.filter(account__fund__in=visible_funds(visible_to).values("pk"))
    rows = postings.values("account__fund__code", "account__fund__name").annotate(
        total=Sum("amount_pence"), receipts=Count("receipt", distinct=True)
    )
    return _bars(
        [
            (f"{row['account__fund__code']} {row['account__fund__name']}", -row["total"],
             row["receipts"])
            for row in rows
            if row["total"]
        ]
    )  # fmt: skip


def receipts_by_channel(
    since: datetime.date, until: datetime.date, visible_to: Membership | None = None
) -> list[Bar]:
    receipts = Receipt.objects.filter(
        received_on__gte=since, received_on__lte=until, status=ReceiptStatus.ACTIVE
    )
    if visible_to is not None:
        receipts = visible_receipts(visible_to, receipts)
    rows = receipts.values("channel__name").annotate(
        total=Sum("amount_pence"), receipts=Count("id")
    )
    return _bars([(row["channel__name"], row["total"], row["receipts"]) for row in rows])


def suspense_by_age(today: datetime.date, visible_to: Membership | None = None) -> list[Bar]:
    items = suspense_items(today=today, limit=100_000, visible_to=visible_to)
    rows = []
    for low, high, label in AGE_BANDS:
        band = [i for i in items if i.age_days >= low and (high is None or i.age_days <= high)]
        rows.append((label, sum(i.in_suspense_pence for i in band), len(band)))
    largest = max((pence for _, pence, _ in rows), default=0)
    # Age bands keep their order; only the bar lengths are relative.
    return [
        Bar(label, pence, count, round(pence * 100 / largest) if largest else 0)
        for label, pence, count in rows
    ]


def build_dashboard(today: datetime.date, visible_to: Membership | None = None) -> Dashboard:
    """The council's income at a glance; for `visible_to`, only the funds they work."""
    month_start = today.replace(day=1)
    ageing = suspense_by_age(today, visible_to)
    unexplained = open_debits_total()
    refunds = Refund.objects.filter(status=RefundStatus.REQUESTED)
    if visible_to is not None:
        refunds = visible_refunds(visible_to, refunds)
    awaiting = refunds.aggregate(count=Count("id"), total=Sum("amount_pence"))
    return Dashboard(
        today_by_fund=income_by_fund(today, today, visible_to),
        month_by_fund=income_by_fund(month_start, today, visible_to),
        month_by_channel=receipts_by_channel(month_start, today, visible_to),
        suspense_by_age=ageing,
        suspense_pence=sum(bar.pence for bar in ageing),
        refunds_awaiting=awaiting["count"],
        refunds_awaiting_pence=awaiting["total"] or 0,
        unexplained_debits=unexplained.count,
        unexplained_debits_pence=unexplained.pence,
    )
