"""The numbers on a council's dashboard: income today and this month, suspense, refunds.

All of them come from one SQL statement (after the suspense account's id): the fund and
channel figures from the day totals the ledger keeps as it is written
(income.models.daily_totals), suspense by age from the suspense account's postings, refunds
awaiting approval from the refunds. Two statements, not seven: each statement costs a round
trip and its schema's `SET search_path` another, which on a busy server was most of the
page's time.
"""

import datetime
from dataclasses import dataclass

from django.db import connection

from income.fund_visibility import is_restricted
from income.models import Account, AccountKind
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
    # When the background worker last proved it runs tasks for this council.
    worker_seen_at: datetime.datetime | None = None
    # Money out that no receipt explains: beside suspense, never netted against it.
    unexplained_debits: int = 0
    unexplained_debits_pence: int = 0


def _bars(rows: list[tuple[str, int, int]]) -> list[Bar]:
    largest = max((abs(pence) for _, pence, _ in rows), default=0)
    return [
        Bar(label, pence, count, round(abs(pence) * 100 / largest) if largest else 0)
        for label, pence, count in sorted(rows, key=lambda row: -row[1])
    ]


_AGE_CASES = (
    " ".join(
        f"WHEN %(today)s - r.received_on <= {high} THEN '{index}'"
        for index, (_, high, _) in enumerate(AGE_BANDS)
        if high is not None
    )
    + f" ELSE '{len(AGE_BANDS) - 1}'"
)

# Fund figures: money booked to each fund on those days (payments in, less refunds,
# transfers and reversals booked then) and how many credits named a receipt. Channel
# figures: active receipts received on those days. Suspense: receipts with money still
# there, banded by age in one pass.
_DASHBOARD = f"""
WITH fund_days AS (
    SELECT t.booked_on, f.code || ' ' || f.name AS label, t.pence, t.receipt_credits
    FROM income_dailyaccounttotal t
    JOIN income_account a ON a.id = t.account_id AND a.kind = 'fund'
    JOIN income_fund f ON f.id = a.fund_id
    WHERE t.booked_on BETWEEN %(month_start)s AND %(today)s
), held AS (
    SELECT receipt_id, -sum(amount_pence) AS pence
    FROM income_posting
    WHERE account_id = %(suspense)s AND receipt_id IS NOT NULL
    GROUP BY receipt_id
    HAVING sum(amount_pence) < 0
)
SELECT 'today_by_fund', label, -sum(pence), sum(receipt_credits)
FROM fund_days WHERE booked_on = %(today)s GROUP BY label
UNION ALL
SELECT 'month_by_fund', label, -sum(pence), sum(receipt_credits) FROM fund_days GROUP BY label
UNION ALL
SELECT 'month_by_channel', c.name, sum(t.pence), sum(t.receipts)
FROM income_dailychanneltakings t JOIN income_channel c ON c.id = t.channel_id
WHERE t.received_on BETWEEN %(month_start)s AND %(today)s
GROUP BY c.name
UNION ALL
SELECT 'suspense_by_age', CASE {_AGE_CASES} END, sum(held.pence), count(*)
FROM held JOIN income_receipt r ON r.id = held.receipt_id
GROUP BY 2
UNION ALL
SELECT 'refunds_awaiting', '', coalesce(sum(amount_pence), 0), count(*)
FROM income_refund WHERE status = 'requested'
UNION ALL
SELECT 'unexplained_debits', '', coalesce(sum(amount_pence), 0), count(*)
FROM income_unexplaineddebit WHERE status = 'open'
UNION ALL
SELECT 'worker_seen_at', '', (extract(epoch FROM max(recorded_at)) * 1000000)::bigint, count(*)
FROM income_workerheartbeat
"""  # noqa: S608 - only this module's own constants are formatted in


def build_dashboard(today: datetime.date, visible_to: Membership | None = None) -> Dashboard:
    """The council's income at a glance; for `visible_to`, only the funds they work (someone
    restricted to some fund groups gets figures counted for them: income.dashboard_restricted)."""
    if visible_to is not None and is_restricted(visible_to):
        from income.dashboard_restricted import build_restricted_dashboard

        return build_restricted_dashboard(today, visible_to)
    sections: dict[str, list[tuple[str, int, int]]] = {}
    # The suspense account's id goes in as a value: as a subquery, the planner would guess
    # an average account's share of postings and read the whole table (seconds at millions
    # of postings), where the value lets it see how few are suspense's.
    suspense = Account.objects.filter(kind=AccountKind.SUSPENSE).values_list("pk", flat=True)
    with connection.cursor() as cursor:
        cursor.execute(
            _DASHBOARD,
            {"today": today, "month_start": today.replace(day=1), "suspense": [*suspense, 0][0]},
        )
        for section, label, pence, count in cursor.fetchall():
            if pence is not None:
                sections.setdefault(section, []).append((label, int(pence), int(count)))
    bands = {label: (pence, count) for label, pence, count in sections.get("suspense_by_age", [])}
    ageing_rows = [(label, *bands.get(str(index), (0, 0))) for index, (_, _, label) in
                   enumerate(AGE_BANDS)]  # fmt: skip
    largest = max((pence for _, pence, _ in ageing_rows), default=0)
    # Age bands keep their order; only the bar lengths are relative.
    ageing = [
        Bar(label, pence, count, round(pence * 100 / largest) if largest else 0)
        for label, pence, count in ageing_rows
    ]
    [(_, awaiting_pence, awaiting)] = sections["refunds_awaiting"]
    unexplained = sections["unexplained_debits"]
    seen = [
        datetime.datetime.fromtimestamp(microseconds / 1_000_000, tz=datetime.UTC)
        for _, microseconds, _ in sections.get("worker_seen_at", [])
    ]
    return Dashboard(
        today_by_fund=_bars([row for row in sections.get("today_by_fund", []) if row[1]]),
        month_by_fund=_bars([row for row in sections.get("month_by_fund", []) if row[1]]),
        month_by_channel=_bars([row for row in sections.get("month_by_channel", []) if row[2]]),
        suspense_by_age=ageing,
        suspense_pence=sum(bar.pence for bar in ageing),
        refunds_awaiting=awaiting,
        refunds_awaiting_pence=awaiting_pence,
        worker_seen_at=seen[0] if seen else None,
        unexplained_debits=unexplained[0][2],
        unexplained_debits_pence=unexplained[0][1],
    )
