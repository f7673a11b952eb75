"""The dashboard of someone who works only some fund groups: the same figures as
income.dashboard's, counted from the ledger for their funds and receipts alone (the day totals
are per account, not per person, so they cannot serve this)."""

import datetime

from django.db.models import Count, Max, Sum

from income.dashboard import AGE_BANDS, Bar, Dashboard, _bars
from income.fund_visibility import visible_funds, visible_receipts, visible_refunds
from income.models import (
    AccountKind,
    Posting,
    Receipt,
    ReceiptStatus,
    Refund,
    RefundStatus,
    WorkerHeartbeat,
)
from income.suspense_worklist import suspense_items
from income.unexplained_debits import open_debits_total
from tenants.models import Membership


def income_by_fund(since: datetime.date, until: datetime.date, who: Membership) -> list[Bar]:
    """Money booked to each of their funds on those days, as the day totals count it."""
    rows = (
        Posting.objects.filter(
            account__kind=AccountKind.FUND,
            account__fund__in=visible_funds(who).values("pk"),
            booked_on__gte=since,
            booked_on__lte=until,
        )
        .values("account__fund__code", "account__fund__name")
        .annotate(total=Sum("amount_pence"), receipts=Count("receipt", distinct=True))
    )
    return _bars(
        [
            (f"{row['account__fund__code']} {row['account__fund__name']}", -row["total"],
             row["receipts"])
            for row in rows
            if row["total"]
        ]
    )  # fmt: skip


def receipts_by_channel(since: datetime.date, until: datetime.date, who: Membership) -> list[Bar]:
    receipts = visible_receipts(
        who,
        Receipt.objects.filter(
            received_on__gte=since, received_on__lte=until, status=ReceiptStatus.ACTIVE
        ),
    )
    rows = receipts.values("channel__name").annotate(
        total=Sum("amount_pence"), receipts=Count("id")
    )
    return _bars([(row["channel__name"], row["total"], row["receipts"]) for row in rows])


def suspense_by_age(today: datetime.date, who: Membership) -> list[Bar]:
    items = suspense_items(today=today, limit=100_000, visible_to=who)
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


def build_restricted_dashboard(today: datetime.date, who: Membership) -> Dashboard:
    month_start = today.replace(day=1)
    ageing = suspense_by_age(today, who)
    unexplained = open_debits_total()
    awaiting = visible_refunds(who, Refund.objects.filter(status=RefundStatus.REQUESTED)).aggregate(
        count=Count("id"), total=Sum("amount_pence")
    )
    return Dashboard(
        today_by_fund=income_by_fund(today, today, who),
        month_by_fund=income_by_fund(month_start, today, who),
        month_by_channel=receipts_by_channel(month_start, today, who),
        suspense_by_age=ageing,
        suspense_pence=sum(bar.pence for bar in ageing),
        refunds_awaiting=awaiting["count"],
        refunds_awaiting_pence=awaiting["total"] or 0,
        worker_seen_at=WorkerHeartbeat.objects.aggregate(seen=Max("recorded_at"))["seen"],
        unexplained_debits=unexplained.count,
        unexplained_debits_pence=unexplained.pence,
    )
