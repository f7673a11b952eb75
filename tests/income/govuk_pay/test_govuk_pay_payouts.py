"""Bank reconciliation of card takings as GOV.UK Pay pays them out: a Stripe-backed service's
payout per settled day is its payments' net amounts less the refunds taken from it; what is
captured and not settled is not expected yet; services without settled dates are expected
gross on the day they were captured; what matches nothing waits on the worklist."""

import datetime

import httpx
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_tenants.utils import schema_context

from income.actions.govuk_pay.mop_up import mop_up
from income.actions.govuk_pay.payments import BasketItem
from income.actions.reconciliation import (
    explain_line,
    load_statement,
    match_statement,
    sign_off_day,
)
from income.defaults import seed_income_defaults
from income.expected_bankings import awaiting_payout, expected_bankings
from income.models import GovukPayConnection, MatchKind
from tests.conftest import host_client, sign_in
from tests.income.govuk_pay.conftest import (
    connect,
    public_funds,
    send_refund,
    take_card_payment,
)
from tests.income.test_reconciliation import statement

# Today: a payout is never dated before the payments it pays out were captured.
PAYOUT_DAY = timezone.localdate()
NEXT_DAY = PAYOUT_DAY + datetime.timedelta(days=1)
DAY_TEXT, NEXT_DAY_TEXT = f"{PAYOUT_DAY:%-d %b %Y}", f"{NEXT_DAY:%-d %b %Y}"
# What the stand-in's Stripe charges (0.2% and 2p a payment) on these amounts.
AMOUNTS_AND_FEES = [(5_000, 12), (12_345, 27), (2_500, 7)]


def pay(council: dict, standin, amounts=AMOUNTS_AND_FEES):
    return [
        take_card_payment(
            council["council"], [BasketItem(council["council_tax"], f"CT{n}", amount)], standin
        )
        for n, (amount, _fee) in enumerate(amounts)
    ]


def payout(standin, api_key: str, day: datetime.date = PAYOUT_DAY) -> dict:
    answer = httpx.post(
        f"{standin.url}/_standin/payouts",
        json={"api_key": api_key, "settled_date": day.isoformat()},
        timeout=5,
    )
    answer.raise_for_status()
    return answer.json()


def around(day: datetime.date) -> list:
    return expected_bankings(day - datetime.timedelta(days=10), day + datetime.timedelta(days=10))


def load(council, officer, entries, *, debits: bool = False):
    uploaded = statement(entries)
    if debits:
        uploaded = SimpleUploadedFile("debits.xml", uploaded.read().replace(b"CRDT", b"DBIT"))
    return load_statement(
        council=council, uploaded_file=uploaded, format_name="camt053", acting_user=officer
    )


def matched(council, loaded, officer) -> int:
    return match_statement(council=council, statement=loaded, acting_user=officer)


def section(page: str, heading: str) -> str:
    """The part of the reconciliation page under `heading`, up to the next table's end."""
    return page.split(heading, 1)[1].split("</table>", 1)[0]


def test_a_payout_is_matched_by_settled_date_net_of_fees_and_refunds(
    stripe_council, standin, officer, manager
):
    payments = pay(stripe_council, standin)
    send_refund(stripe_council, payments[1].receipt, 1_000, officer, manager)
    paid = payout(standin, stripe_council["api_key"])
    mop_up(connection=stripe_council["connection"])
    net = sum(amount - fee for amount, fee in AMOUNTS_AND_FEES) - 1_000
    assert paid["amount"] == net == 18_799

    connection_pk = stripe_council["connection"].pk
    [expected] = around(PAYOUT_DAY)
    assert (expected.key, expected.kind, expected.day, expected.pence) == (
        f"govuk_pay:{connection_pk}:{PAYOUT_DAY}", MatchKind.GOVUK_PAY, PAYOUT_DAY, net,
    )  # fmt: skip
    label = f"GOV.UK Pay payout for {DAY_TEXT}: 3 payments less 1 refund and £0.46 fees"
    assert expected.label == label

    loaded = load(
        stripe_council["council"],
        officer,
        # The gross takings, the day they were taken: no longer what the bank is sent.
        [("198.45", NEXT_DAY.isoformat()), ("187.99", NEXT_DAY.isoformat())],
    )
    assert matched(stripe_council["council"], loaded, officer) == 1
    gross, payout_line = loaded.lines.order_by("line_number")
    assert gross.match_kind == ""
    assert (payout_line.match_kind, payout_line.expected_pence, payout_line.note) == (
        MatchKind.GOVUK_PAY, net, expected.label,
    )  # fmt: skip
    assert payout_line.get_match_kind_display() == "GOV.UK Pay payout"
    assert around(PAYOUT_DAY) == []


def test_payments_captured_but_not_settled_are_not_expected_yet(stripe_council, standin, officer):
    payments = pay(stripe_council, standin)
    captured = payments[0].captured_on
    assert around(captured) == []
    assert awaiting_payout().payments == 3
    assert awaiting_payout().pence == 19_799
    page = sign_in(host_client(stripe_council["council"]), officer).get("/reconciliation/")
    assert (
        "GOV.UK Pay has taken 3 card payments not paid out yet (£197.99 after its fees)"
        in page.content.decode()
    )
    loaded = load(stripe_council["council"], officer, [("197.99", captured.isoformat())])
    assert matched(stripe_council["council"], loaded, officer) == 0

    # Paid out the next day (GOV.UK Pay says so): expected now, and the line on that day matches.
    day = captured + datetime.timedelta(days=1)
    payout(standin, stripe_council["api_key"], day)
    mop_up(connection=stripe_council["connection"])
    assert [e.pence for e in around(captured)] == [19_799]
    assert awaiting_payout().payments == 0
    later = load(stripe_council["council"], officer, [("197.99", day.isoformat())])
    assert matched(stripe_council["council"], later, officer) == 1


def test_a_service_without_settled_dates_is_expected_gross_on_its_captured_day(
    paying_council, standin, officer
):
    payments = pay(paying_council, standin)
    captured = payments[0].captured_on
    assert {p.fee_pence for p in payments} == {None}
    [expected] = around(captured)
    assert (expected.key, expected.pence) == (f"card:{captured.isoformat()}", 19_845)
    assert expected.label == f"Card takings for {captured:%-d %b %Y}"
    assert awaiting_payout().payments == 0

    booked = (captured + datetime.timedelta(days=2)).isoformat()
    loaded = load(paying_council["council"], officer, [("198.45", booked)])
    assert matched(paying_council["council"], loaded, officer) == 1
    assert loaded.lines.get().match_kind == MatchKind.CARD


def test_a_statement_line_that_matches_nothing_waits_on_the_worklist(
    stripe_council, standin, council_a, officer, manager
):
    today = timezone.localdate()
    pay(stripe_council, standin)
    payout(standin, stripe_council["api_key"], today)
    mop_up(connection=stripe_council["connection"])
    # £2 short of the payout: beyond the £1 tolerance.
    loaded = load(council_a, officer, [("195.99", today.isoformat())])
    assert matched(council_a, loaded, officer) == 0

    page = sign_in(host_client(council_a), officer).get("/reconciliation/").content.decode()
    assert "£195.99" in section(page, "Worklist: bank lines not matched")
    waiting = section(page, "Expected in the bank, not seen yet")
    assert f"GOV.UK Pay payout for {today:%-d %b %Y}: 3 payments less £0.46 fees" in waiting
    assert "£197.99" in waiting

    # The day is signed off only once the line is explained, by a finance manager.
    with pytest.raises(ValidationError, match="neither matched nor explained"):
        sign_off_day(council=council_a, day=today, acting_user=manager)
    explain_line(
        council=council_a, line=loaded.lines.get(), note="Payout short: asked GOV.UK Pay",
        acting_user=officer,
    )  # fmt: skip
    signed = sign_off_day(council=council_a, day=today, acting_user=manager)
    assert signed.signed_by_email == manager.email and signed.signed_at is not None
    # Explained is not matched: the payout is still expected.
    assert [e.pence for e in around(today)] == [19_799]


def test_a_day_whose_refunds_exceed_its_payments_is_matched_to_a_debit(
    stripe_council, standin, officer, manager
):
    [payment] = pay(stripe_council, standin, [(5_000, 12)])
    payout(standin, stripe_council["api_key"])
    send_refund(stripe_council, payment.receipt, 3_000, officer, manager)
    next_day = PAYOUT_DAY + datetime.timedelta(days=1)
    payout(standin, stripe_council["api_key"], next_day)
    mop_up(connection=stripe_council["connection"])

    first, second = around(PAYOUT_DAY)
    assert (first.day, first.pence) == (PAYOUT_DAY, 4_988)
    assert (second.day, second.pence) == (next_day, -3_000)
    assert second.label == f"GOV.UK Pay payout for {NEXT_DAY_TEXT}: 1 refund taken back"
    loaded = load(stripe_council["council"], officer, [("49.88", PAYOUT_DAY.isoformat())])
    taken = load(stripe_council["council"], officer, [("30.00", NEXT_DAY.isoformat())], debits=True)
    assert matched(stripe_council["council"], loaded, officer) == 1
    assert matched(stripe_council["council"], taken, officer) == 1
    assert taken.lines.get().amount_pence == -3_000
    assert taken.lines.get().match_key == f"govuk_pay:{stripe_council['connection'].pk}:{NEXT_DAY}"


def test_a_fund_with_its_own_service_has_its_own_payout(stripe_council, standin, admin):
    """One GOV.UK Pay service pays into one bank account: a fund with its own service is paid
    out on its own."""
    from income.actions.govuk_pay.connections import save_connection

    parking = stripe_council["parking"]
    api_key = "api_test_parking_service"
    standin.add_service(api_key, payment_provider="stripe")
    save_connection(
        council=stripe_council["council"], acting_user=admin, fund=parking,
        api_key=api_key, base_url=standin.url,
    )  # fmt: skip
    pay(stripe_council, standin, [(5_000, 12)])
    take_card_payment(stripe_council["council"], [BasketItem(parking, "PK1", 7_000)], standin)
    payout(standin, stripe_council["api_key"])
    payout(standin, api_key)
    for connection in GovukPayConnection.objects.all():
        mop_up(connection=connection)

    labels = {e.label: e.pence for e in around(PAYOUT_DAY)}
    assert labels == {
        f"GOV.UK Pay payout for {DAY_TEXT}: 1 payment less £0.12 fees": 4_988,
        f"GOV.UK Pay payout (Parking Fines) for {DAY_TEXT}: 1 payment less £0.16 fees": 6_984,
    }


def test_another_councils_payouts_are_neither_expected_nor_shown_here(
    stripe_council, standin, council_a, council_b, officer
):
    pay(stripe_council, standin, [(5_000, 12)])
    with schema_context(council_b.schema_name):
        seed_income_defaults()
        api_key_b, _secret = connect(council_b, standin, payment_provider="stripe")
        council_tax_b, _parking = public_funds()
        pay({"council": council_b, "council_tax": council_tax_b}, standin, [(9_900, 22)])
    # Paying out council B's service settles nothing of council A's.
    assert payout(standin, api_key_b)["payments"] == 1
    assert mop_up(connection=stripe_council["connection"]).applied == 0
    assert around(PAYOUT_DAY) == []
    with schema_context(council_b.schema_name):
        mop_up(connection=GovukPayConnection.objects.get(fund=None))
        assert [e.pence for e in around(PAYOUT_DAY)] == [9_878]

    # Council A's statement with B's payout on it: nothing to match it to.
    loaded = load(council_a, officer, [("98.78", PAYOUT_DAY.isoformat())])
    assert matched(council_a, loaded, officer) == 0
    page = sign_in(host_client(council_a), officer).get("/reconciliation/").content.decode()
    assert "£98.78" in section(page, "Worklist: bank lines not matched")
    assert "GOV.UK Pay payout for" not in page
