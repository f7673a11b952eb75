"""The reports: each one's figures tie to the ledger's postings; CSV, printing, the period's
validation, who may see them, and that one council's reports hold nothing of another's."""

import csv
import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Sum
from django.utils import timezone

from income.accounts import system_account
from income.actions.cash_up import authorise_cash_up, submit_cash_up
from income.actions.imports import upload_import
from income.actions.receipts import Allocation, record_receipt
from income.actions.refunds import approve_refund, mark_refund_paid, raise_refund
from income.daily_totals import compact_daily_totals
from income.formats import allpay
from income.imports.pipeline import run_import
from income.models import AccountKind, CashUp, CashUpStatus, Posting, Receipt, VatCode
from income.reports.aged_suspense import aged_suspense
from income.reports.audit_trail import audit_trail
from income.reports.cash_up_variances import cash_up_variances
from income.reports.imports import imports_report
from income.reports.refunds import refunds_report
from income.reports.report import Period
from income.reports.takings import (
    NOT_STAFF,
    takings_by_channel,
    takings_by_fund,
    takings_by_till,
    takings_by_user,
)
from income.reports.vat import vat_collected, vat_within
from tenants.models import CouncilRole
from tests.conftest import host_client, make_member, sign_in

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
EARLIER = TODAY - datetime.timedelta(days=10)
LONG_AGO = TODAY - datetime.timedelta(days=100)
PERIOD = Period(TODAY - datetime.timedelta(days=30), TODAY)


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def receipt(key, channel, day, allocations, *, user=None, name="", reference=""):
    return record_receipt(
        channel=channel,
        amount_pence=sum(a.amount_pence for a in allocations),
        received_on=day,
        allocations=allocations,
        idempotency_key=key,
        acting_user=user,
        payer_name=name,
        payer_reference=reference,
    ).receipt


@pytest.fixture
def books(council_a, cash, card, council_tax, parking, officer, manager):
    """A month of a council's money: counter and card receipts, suspense, a refund raised,
    approved and paid, one long before the period, and a cash-up over by 50p."""
    parking.vat_code = VatCode.objects.get(code="W0")
    parking.save()
    receipt("r1", cash, TODAY, [Allocation(council_tax, 10_000)], user=officer)
    receipt("r2", card, EARLIER, [Allocation(council_tax, 2_000), Allocation(parking, 3_600)])
    receipt("r3", cash, EARLIER, [Allocation(None, 700)], name="=HYPERLINK(1)", user=officer)
    receipt("r4", cash, LONG_AGO, [Allocation(council_tax, 99_900)], user=officer)
    paid = receipt("r5", cash, TODAY, [Allocation(parking, 1_200)], user=officer)
    refund = raise_refund(
        council=council_a, receipt=paid, fund=parking, amount_pence=200, reason="over",
        acting_user=officer,
    )  # fmt: skip
    approve_refund(council=council_a, refund=refund, acting_user=manager)
    mark_refund_paid(council=council_a, refund=refund, acting_user=manager)
    cash_up = submit_cash_up(
        council=council_a, business_date=TODAY, denominations={5000: 2, 1000: 1, 50: 3},
        cheques=[], note="A customer left 50p", acting_user=officer,
    )  # fmt: skip
    authorise_cash_up(council=council_a, cash_up=cash_up, acting_user=manager)
    return {"refund": refund, "cash_up": cash_up, "suspense_receipt": Receipt.objects.get(
        idempotency_key="r3")}  # fmt: skip


def ledger_sum(**filters) -> int:
    return Posting.objects.filter(**filters).aggregate(total=Sum("amount_pence"))["total"] or 0


def in_period(**filters) -> dict:
    return {"booked_on__range": (PERIOD.start, PERIOD.end), **filters}


def total_of(report, label_column: int, amount_column: int) -> dict[str, int]:
    sums: dict[str, int] = {}
    for row in report.tables[0].rows:
        sums[row[label_column]] = sums.get(row[label_column], 0) + row[amount_column]
    return sums


def test_takings_by_fund_tie_to_the_funds_postings(books, council_tax, parking):
    compact_daily_totals()  # folded or not, the figures are the same
    report = takings_by_fund(PERIOD)
    by_fund = total_of(report, 1, 3)
    for fund in (council_tax, parking):
        assert by_fund[str(fund)] == -ledger_sum(**in_period(account__fund=fund))
    assert by_fund == {"CTAX Council Tax": 12_000, "PARK Parking Fines": 4_600}
    assert report.tables[0].totals[3] == 16_600
    assert {bar.label: bar.pence for bar in report.chart.bars} == by_fund


def test_takings_by_channel_and_user_tie_to_the_receipts_own_postings(books, officer):
    own_clearing = {
        "journal__receipts_recorded__received_on__range": (PERIOD.start, PERIOD.end),
        "journal__receipts_recorded__status": "active",
        "account__kind": AccountKind.CLEARING,
    }
    by_channel = total_of(takings_by_channel(PERIOD), 1, 3)
    assert by_channel == {"Cash": 11_900, "Card (GOV.UK Pay)": 5_600}
    for name, pence in by_channel.items():
        assert pence == ledger_sum(**own_clearing, account__channel__name=name)
    by_user = total_of(takings_by_user(PERIOD), 1, 3)
    assert by_user == {officer.email: 11_900, NOT_STAFF: 5_600}
    assert by_user[officer.email] == ledger_sum(
        **own_clearing, journal__receipts_recorded__created_by_id=officer.pk
    )


def test_takings_by_till_and_variances_tie_to_the_cash_up_journal(books, officer):
    cash_up = books["cash_up"]
    cash_up.refresh_from_db()
    assert cash_up.status == CashUpStatus.AUTHORISED
    till = takings_by_till(PERIOD).tables[0].rows
    assert till == [(TODAY, officer.email, "Authorised", 11_200, 11_150)]
    # What the receipts took is what the cash-up's journal took out of clearing.
    assert till[0][3] == -ledger_sum(journal=cash_up.journal, account__channel__isnull=False)
    variances = cash_up_variances(PERIOD)
    assert [row[5] for row in variances.tables[0].rows] == [-50]
    assert variances.tables[0].rows[0][5] == -ledger_sum(
        journal=cash_up.journal, account=system_account(AccountKind.CASH_VARIANCE)
    )


def test_till_reports_leave_returned_cash_ups_out_of_their_sums(in_council_a):
    day = datetime.date(2020, 3, 2)
    period = Period(day, day + datetime.timedelta(days=1))

    def cash_up(email, till, expected, counted, status, on=day):
        CashUp.objects.create(
            cashier_id=1, cashier_email=email, business_date=on, till=till, denominations={},
            cheques=[], cash_counted_pence=counted, cheques_counted_pence=0,
            expected_cash_pence=expected, expected_cheques_pence=0, status=status, note=status,
        )  # fmt: skip

    cash_up("a@example.org", "Till 1", 1_000, 990, CashUpStatus.AUTHORISED)
    cash_up("a@example.org", "Till 1", 500, 400, CashUpStatus.REJECTED)  # counted again later
    cash_up("a@example.org", "Till 1", 500, 505, CashUpStatus.SUBMITTED, on=period.end)
    cash_up("b@example.org", "", 200, 200, CashUpStatus.SUBMITTED)

    till = takings_by_till(period).tables[0]
    assert till.rows == [
        (day, "a@example.org (Till 1)", "Authorised", 1_000, 990),
        (day, "b@example.org", "Submitted", 200, 200),
        (period.end, "a@example.org (Till 1)", "Submitted", 500, 505),
    ]
    assert till.totals == ("Total", "", "", 1_700, 1_695)
    variances = cash_up_variances(period)
    rows = variances.tables[0].rows
    assert [(row[1], row[2], row[5]) for row in rows] == [
        ("a@example.org (Till 1)", "Authorised", -10),
        ("a@example.org (Till 1)", "Returned to the cashier", -100),
        ("b@example.org", "Submitted", 0),
        ("a@example.org (Till 1)", "Submitted", 5),
    ]
    assert variances.tables[0].totals[3:6] == (1_700, 1_695, -5)
    assert {bar.label: bar.pence for bar in variances.chart.bars} == {
        "a@example.org (Till 1)": -5, "b@example.org": 0
    }  # fmt: skip
    # The screen reads one more than it shows, to say there were more.
    cut = cash_up_variances(period, limit=2).tables[0]
    assert len(cut.rows) == 2 and cut.cut_short
    assert not takings_by_till(period, limit=3).tables[0].cut_short


def test_vat_is_worked_out_on_what_the_ledger_put_in_each_fund(books, parking):
    report = vat_collected(PERIOD)
    rows = {row[0]: row for row in report.tables[0].rows}
    parking_gross = -ledger_sum(**in_period(account__fund=parking))
    assert rows["W0"][3] == parking_gross == 4_600
    # 3,600 then 1,200 less the 200 refunded, both at 20% inside: 600 + 167 (166.67).
    assert rows["W0"][5] == vat_within(3_600, 2000) + vat_within(1_000, 2000) == 767
    assert rows["W0"][4] == 4_600 - 767
    assert vat_within(-1_000, 2000) == -167


def test_aged_suspense_ties_to_the_suspense_account(books):
    report = aged_suspense(PERIOD)
    [row] = report.tables[0].rows
    held = books["suspense_receipt"]
    assert row[0] == held.number and row[2] == 10
    assert row[5] == -ledger_sum(account__kind=AccountKind.SUSPENSE, receipt=held) == 700
    assert [bar.pence for bar in report.chart.bars] == [0, 700, 0, 0]


def test_refunds_approved_and_paid_tie_to_refunds_payable(books):
    report = refunds_report(PERIOD)
    raised, movements = report.tables
    assert [row[6] for row in raised.rows] == [200]
    payable = {"account__kind": AccountKind.REFUNDS_PAYABLE}
    approved = sum(row[5] for row in movements.rows if row[1] == "Approved")
    paid = sum(row[5] for row in movements.rows if row[1] == "Paid")
    assert [(bar.label, bar.pence, bar.count) for bar in report.chart.bars] == [
        ("Raised", 200, 1), ("Approved", 200, 1), ("Paid", 200, 1)
    ]  # fmt: skip
    assert approved == -ledger_sum(**in_period(**payable, amount_pence__lt=0)) == 200
    assert paid == ledger_sum(**in_period(**payable, amount_pence__gt=0)) == 200


def test_imports_report_ties_to_the_receipts_each_import_made(council_a, ledger, officer):
    day = TODAY
    lines = [
        allpay.write_line(reference="UNKNOWN1", amount_pence=2_500, letter="N", date=day),
        allpay.write_line(reference="UNKNOWN2", amount_pence=99_999, letter="N", date=day)[:40],
    ]
    content = "\r\n".join(lines + allpay.write_trailer(total_pence=102_499, count=2)) + "\r\n"
    batch = upload_import(
        council=council_a, uploaded_file=SimpleUploadedFile("allpay.txt", content.encode()),
        format_name="allpay", acting_user=officer, default_date=day,
    )  # fmt: skip
    run_import(batch.pk)
    report = imports_report(PERIOD)
    [row] = report.tables[0].rows
    assert row[5:7] == (1, 2_500)
    assert row[6] == ledger_sum(
        receipt__import_batch_id=batch.pk, account__kind=AccountKind.CLEARING
    )
    [rejected] = report.tables[1].rows
    assert rejected[1] == 2 and rejected[2]


def test_the_audit_trail_for_a_receipt_a_person_and_a_day(books, officer, manager):
    paid = Receipt.objects.get(idempotency_key="r5")
    for_receipt = audit_trail(PERIOD, receipt_number=paid.number)
    actions = [row[2] for row in for_receipt.tables[0].rows]
    assert actions == ["receipt.recorded", "refund.raised", "refund.approved", "refund.paid"]
    by_manager = audit_trail(PERIOD, person=manager.email.upper())
    assert {row[1] for row in by_manager.tables[0].rows} == {manager.email}
    assert audit_trail(PERIOD, receipt_number="NOPE").notes == ["No receipt is numbered NOPE."]
    # On screen only the first rows are read, and the page says so.
    first_two = audit_trail(PERIOD, limit=2).tables[0]
    assert len(first_two.rows) == 2 and first_two.is_cut_short
    assert not audit_trail(PERIOD, receipt_number=paid.number, limit=4).tables[0].is_cut_short
    yesterday = TODAY - datetime.timedelta(days=1)
    assert audit_trail(Period(yesterday, yesterday)).tables[0].rows == []


def test_a_report_downloads_as_csv_with_formulas_neutralised(council_a, books, auditor):
    client = sign_in(host_client(council_a), auditor)
    period = {"start": PERIOD.start.strftime("%d/%m/%Y"), "end": TODAY.strftime("%d/%m/%Y")}
    response = client.get("/reports/aged-suspense/", {**period, "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "aged-suspense-" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    number = books["suspense_receipt"].number
    assert [number, EARLIER.isoformat(), "10", "", "'=HYPERLINK(1)", "7.00"] in rows
    assert ["Total", "", "", "", "", "7.00"] in rows


def test_reports_show_on_screen_and_printable(council_a, books, auditor):
    client = sign_in(host_client(council_a), auditor)
    index = client.get("/reports/").content.decode()
    assert "/reports/takings-by-fund/" in index and "/reports/audit-trail/" in index
    period = {"start": PERIOD.start.isoformat(), "end": TODAY.isoformat()}
    page = client.get("/reports/takings-by-fund/", period).content.decode()
    assert "£120.00" in page and "£166.00" in page  # CTAX and the total
    assert 'role="img"' in page and "format=csv" in page
    printable = client.get("/reports/takings-by-fund/", {**period, "format": "print"})
    assert "<form" not in printable.content.decode() and "£166.00" in printable.content.decode()


def test_an_end_before_the_start_is_refused_with_a_clear_message(council_a, ledger, auditor):
    client = sign_in(host_client(council_a), auditor)
    response = client.get("/reports/vat/", {"start": "10/11/2026", "end": "09/11/2026"})
    page = response.content.decode()
    assert "The end date must be the same as or after the start date." in page
    assert response.context["report"] is None
    csv_response = client.get(
        "/reports/vat/", {"start": "10/11/2026", "end": "09/11/2026", "format": "csv"}
    )
    assert not csv_response.has_header("Content-Disposition")
    assert (
        "Enter the last day as a date"
        in client.get(
            "/reports/vat/", {"start": "10/11/2026", "end": "31/02/2026"}
        ).content.decode()
    )


def test_another_councils_member_is_refused_and_their_reports_hold_nothing_of_ours(
    council_a, council_b, books
):
    stranger = make_member(council_b, CouncilRole.FINANCE_MANAGER)
    refused = sign_in(host_client(council_a), stranger).get("/reports/takings-by-fund/")
    assert refused.status_code in (302, 403, 404)
    theirs = sign_in(host_client(council_b), stranger).get(
        "/reports/takings-by-fund/", {"start": PERIOD.start.isoformat(), "end": TODAY.isoformat()}
    )
    assert theirs.status_code == 200
    assert theirs.context["report"].tables[0].rows == []
    assert "£120.00" not in theirs.content.decode()
