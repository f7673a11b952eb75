"""The dashboard's numbers agree with the ledger."""

import datetime

import pytest
from django.utils import timezone

from income.accounts import fund_account, suspense_account
from income.actions.receipts import Allocation, record_receipt
from income.actions.refunds import raise_refund
from income.balances import account_balance
from income.dashboard import build_dashboard
from tests.conftest import host_client
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_the_dashboard_adds_up_to_the_ledger(council_a, cash, card, council_tax, parking, officer):
    today = timezone.localdate()
    long_ago = today - datetime.timedelta(days=45)
    for key, channel, day, allocations in (
        ("d1", cash, today, [Allocation(council_tax, 10_000)]),
        ("d2", card, today, [Allocation(council_tax, 2_000), Allocation(parking, 3_500)]),
        ("d3", cash, long_ago, [Allocation(None, 700)]),
        ("d4", card, today, [Allocation(None, 300)]),
    ):
        record_receipt(
            channel=channel,
            amount_pence=sum(a.amount_pence for a in allocations),
            received_on=day,
            allocations=allocations,
            idempotency_key=key,
            acting_user=None,
        )
    receipt = record_receipt(
        channel=cash,
        amount_pence=500,
        received_on=today,
        allocations=[Allocation(parking, 500)],
        idempotency_key="d5",
        acting_user=None,
    ).receipt
    raise_refund(
        council=council_a,
        receipt=receipt,
        fund=parking,
        amount_pence=200,
        reason="x",
        acting_user=officer,
    )

    dashboard = build_dashboard(today)
    today_by_fund = {bar.label: bar.pence for bar in dashboard.today_by_fund}
    assert today_by_fund == {"CTAX Council Tax": 12_000, "PARK Parking Fines": 4_000}
    assert today_by_fund["CTAX Council Tax"] == -account_balance(fund_account(council_tax))
    channels = {bar.label: bar.pence for bar in dashboard.month_by_channel}
    if long_ago.month == today.month:
        assert channels == {"Cash": 11_200, "Card (GOV.UK Pay)": 5_800}
    assert dashboard.suspense_pence == -account_balance(suspense_account()) == 1_000
    assert [bar.pence for bar in dashboard.suspense_by_age] == [300, 0, 700, 0]
    assert (dashboard.refunds_awaiting, dashboard.refunds_awaiting_pence) == (1, 200)

    client = host_client(council_a)
    client.login(email=officer.email, password=PASSWORD)
    page = client.get("/").content.decode()
    assert "£10.00" in page  # suspense
    assert "1 (£2.00)" in page  # refunds awaiting
    assert 'role="img"' in page and "<caption" in page  # each chart has its table


def test_each_bar_is_labelled_with_what_it_is_and_its_amount(
    council_a, cash, council_tax, parking, officer
):
    today = timezone.localdate()
    for key, fund, pence in (("b1", council_tax, 12_000), ("b2", parking, 4_000)):
        record_receipt(
            channel=cash, amount_pence=pence, received_on=today,
            allocations=[Allocation(fund, pence)], idempotency_key=key, acting_user=None,
        )  # fmt: skip
    client = host_client(council_a)
    client.login(email=officer.email, password=PASSWORD)
    page = client.get("/").content.decode()
    chart = page.split('<figure class="counterfoil-chart" id="today-by-fund">')[1]

    # Seen: the label above each bar and the amount at its end (drawn in SVG: the page's
    # policy allows no inline styles). The longest bar takes three quarters of the width.
    assert (
        '<span class="counterfoil-chart__label govuk-body-s">CTAX Council Tax</span>\n'
        '        <svg class="counterfoil-chart__track" width="100%" height="24" focusable="false" '
        'aria-hidden="true"><rect class="counterfoil-chart__bar" x="0" y="2" height="20" '
        'width="75%"></rect><text class="counterfoil-chart__value" x="75%" dx="8" y="17">'
        "£120.00</text></svg>"
    ) in chart
    assert 'width="25%"></rect><text class="counterfoil-chart__value" x="25%"' in page
    # Heard: the chart's text alternative names every bar with its amount.
    assert (
        'role="img" aria-label="Income today by fund: CTAX Council Tax £120.00; '
        'PARK Parking Fines £40.00."'
    ) in page


def test_the_day_totals_follow_reversals_and_folding_changes_nothing(council_a, cash, council_tax):
    from django.db.models import Sum

    from income.actions.receipts import reverse_receipt
    from income.daily_totals import compact_daily_totals
    from income.models import DailyAccountTotal, DailyChannelTakings, Posting

    today = timezone.localdate()
    receipts = [
        record_receipt(
            channel=cash, amount_pence=1_000 * n, received_on=today,
            allocations=[Allocation(council_tax, 1_000 * n)], idempotency_key=f"fold{n}",
            acting_user=None,
        ).receipt
        for n in (1, 2, 3)
    ]  # fmt: skip
    reverse_receipt(council=council_a, receipt=receipts[0], reason="bounced", acting_user=None)
    before = build_dashboard(today)
    assert [(bar.label, bar.pence, bar.count) for bar in before.month_by_channel] == [
        ("Cash", 5_000, 2)
    ]
    assert [(bar.pence, bar.count) for bar in before.today_by_fund] == [(5_000, 3)]
    assert DailyChannelTakings.objects.count() > 1 and DailyAccountTotal.objects.count() > 2

    compact_daily_totals()
    compact_daily_totals()  # again: nothing left to fold
    assert build_dashboard(today) == before
    assert DailyChannelTakings.objects.count() == 1
    # One row per day and account, each the sum of that account's postings that day.
    for total in DailyAccountTotal.objects.all():
        assert (
            total.pence
            == Posting.objects.filter(
                account_id=total.account_id, booked_on=total.booked_on
            ).aggregate(sum=Sum("amount_pence"))["sum"]
        )
    assert DailyAccountTotal.objects.values("booked_on", "account_id").distinct().count() == (
        DailyAccountTotal.objects.count()
    )
