# Long because each export layout and correction case is a test of its own on one fixture.
"""Exports: every posting to a target's funds goes to it once, in the target's layout (CSV
with formulas neutralised, or fixed width with header and trailer), later movements of a
receipt's money follow as lines of their own, and every file downloads again byte for byte
with a list of what it holds."""

import datetime
import hashlib
import inspect

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from income.actions.exports import (
    make_export,
    request_export,
    run_contents,
    run_export,
)
from income.actions.receipts import Allocation, record_receipt, reverse_receipt
from income.actions.suspense import allocate_from_suspense
from income.actions.transfers import transfer_between_funds
from income.exports.export_file import export_bytes
from income.exports.forms import ExportTargetForm
from income.exports.layout import parse_fields, to_char_format
from income.models import ExportRun, ExportStatus, ExportTarget, Receipt
from tenants.audit.models import AuditEvent
from tenants.models import CouncilRole
from tests.conftest import host_client, make_member
from tests.exported import export_text
from tests.factories import PASSWORD, FundFactory

DAY = datetime.date(2026, 11, 20)


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def pay(channel, fund, pence, key, reference="REF1", name="Jo Bloggs"):
    return record_receipt(
        channel=channel,
        amount_pence=pence,
        received_on=DAY,
        allocations=[Allocation(fund, pence)],
        idempotency_key=key,
        acting_user=None,
        payer_reference=reference,
        payer_name=name,
    ).receipt


def revenues(*funds, fields="receipt_number\nreceived_on\nreference\nfund_code\namount"):
    target = ExportTarget.objects.create(name="Revenues", fields=parse_fields(fields))
    target.funds.set(funds)
    return target


def test_each_receipt_goes_to_a_target_once_and_suspense_waits(
    council_a, cash, council_tax, parking, officer
):
    council_tax.ledger_code = "4001"
    council_tax.save()
    first = pay(cash, council_tax, 12_345, "k1", reference="=HYPERLINK(1)")
    pay(cash, parking, 500, "k2")
    waiting = pay(cash, None, 2_000, "k3")
    target = revenues(
        council_tax, fields="receipt_number\nreceived_on\nreference\nfund_code\nledger_code\namount"
    )

    run = run_export(council=council_a, target=target, acting_user=officer)

    content = export_bytes(run.sha256)
    assert content.decode() == (
        "receipt_number,received_on,reference,fund_code,ledger_code,amount\r\n"
        f"{first.number},20/11/2026,'=HYPERLINK(1),CTAX,4001,123.45\r\n"
        "TRAILER,1,123.45\r\n"
    )
    assert (run.status, run.line_count, run.total_pence) == (ExportStatus.COMPLETED, 1, 12_345)
    assert run.sha256 == hashlib.sha256(content).hexdigest()

    again = run_export(council=council_a, target=target, acting_user=officer)
    assert (again.line_count, again.total_pence) == (0, 0)
    assert export_bytes(again.sha256) == (
        b"receipt_number,received_on,reference,fund_code,ledger_code,amount\r\nTRAILER,0,0.00\r\n"
    )

    allocate_from_suspense(
        council=council_a,
        receipt=waiting,
        allocations=[Allocation(council_tax, 2_000)],
        note="found it",
        acting_user=officer,
    )
    later = run_export(council=council_a, target=target, acting_user=officer)
    assert [(line.receipt_number, line.amount_pence) for line in run_contents(later, limit=9)] == [
        (waiting.number, 2_000)
    ]
    assert [line.receipt_number for line in run_contents(run, limit=9)] == [first.number]
    assert export_bytes(run.sha256) == content  # the first file is unchanged


def test_a_reversal_after_export_follows_as_a_correction_line(
    council_a, cash, council_tax, officer
):
    receipt = pay(cash, council_tax, 4_200, "k1", reference="50000004")
    target = revenues(council_tax, fields="receipt_number\nreference\nentry\namount")
    first = run_export(council=council_a, target=target, acting_user=officer)

    reverse_receipt(council=council_a, receipt=receipt, reason="cheque bounced", acting_user=None)
    correction = run_export(council=council_a, target=target, acting_user=officer)

    assert export_text(first).splitlines()[1] == f"{receipt.number},50000004,receipt,42.00"
    assert export_text(correction).splitlines() == [
        "receipt_number,reference,entry,amount",
        f"{receipt.number},50000004,reversal,-42.00",
        "TRAILER,1,-42.00",
    ]
    assert (correction.income_pence, correction.outgoing_pence) == (0, 4_200)


def test_a_receipt_reversed_before_its_first_export_sends_both_lines_netting_to_nothing(
    council_a, cash, council_tax, officer
):
    receipt = pay(cash, council_tax, 900, "k1")
    reverse_receipt(council=council_a, receipt=receipt, reason="keyed twice", acting_user=None)

    run = run_export(council=council_a, target=revenues(council_tax), acting_user=officer)

    assert (run.line_count, run.income_pence, run.outgoing_pence, run.total_pence) == (
        2,
        900,
        900,
        0,
    )


def test_a_transfer_moves_the_money_between_the_targets_funds(
    council_a, cash, council_tax, parking, officer, manager
):
    receipt = pay(cash, council_tax, 3_000, "k1")
    only_parking = revenues(parking, fields="receipt_number\nfund_code\namount")
    both = ExportTarget.objects.create(
        name="Ledger lines", fields=parse_fields("fund_code\namount")
    )
    run_export(council=council_a, target=only_parking, acting_user=officer)
    run_export(council=council_a, target=both, acting_user=officer)

    transfer_between_funds(
        council=council_a,
        receipt=receipt,
        from_fund=council_tax,
        to_fund=parking,
        amount_pence=1_000,
        note="paid the wrong account",
        acting_user=manager,
    )

    parking_run = run_export(council=council_a, target=only_parking, acting_user=officer)
    assert export_text(parking_run).splitlines()[1:] == [
        f"{receipt.number},PARK,10.00",
        "TRAILER,1,10.00",
    ]
    both_run = run_export(council=council_a, target=both, acting_user=officer)
    assert sorted(export_text(both_run).splitlines()[1:3]) == [
        "CTAX,-10.00",
        "PARK,10.00",
    ]
    assert both_run.total_pence == 0


def test_a_fixed_width_layout_pads_and_cuts_each_field(council_a, cash, council_tax, officer):
    receipt = pay(cash, council_tax, 12_345, "k1", reference="50000004", name="A Very Long Name")
    target = ExportTarget.objects.create(
        name="Housing",
        layout="fixed",
        amount_format="pence",
        date_format="%Y%m%d",
        fields=parse_fields(
            "reference,10,left\npayer_name,6\nreceived_on,8\namount,12,right,0\nchannel,3,right,%"
        ),
    )

    run = run_export(council=council_a, target=target, acting_user=officer)

    assert export_bytes(run.sha256).decode().split("\r\n") == [
        f"HDR{datetime.date.today():%Y%m%d}",
        "50000004  A Very20261120000000012345CAS",
        "TRL000000001000000000012345",
        "",
    ]
    assert [line.receipt_number for line in run_contents(run, limit=9)] == [receipt.number]


def test_a_fixed_width_correction_keeps_its_sign_before_the_zeros(
    council_a, cash, council_tax, officer
):
    receipt = pay(cash, council_tax, 4_200, "k1")
    target = ExportTarget.objects.create(
        name="Housing",
        layout="fixed",
        amount_format="pence",
        include_header=False,
        include_trailer=False,
        fields=parse_fields("fund_code,5\namount,10,right,0"),
    )
    run_export(council=council_a, target=target, acting_user=officer)
    reverse_receipt(council=council_a, receipt=receipt, reason="bounced", acting_user=None)

    correction = run_export(council=council_a, target=target, acting_user=officer)

    assert export_text(correction).splitlines() == ["CTAX -000004200"]


def test_fixed_width_lines_keep_backslashes_quotes_and_accents_as_they_are(
    council_a, cash, council_tax, officer
):
    pay(cash, council_tax, 100, "k1", reference='A\\B"C', name="Siân O'Brien, Ltd")
    target = ExportTarget.objects.create(
        name="Housing",
        layout="fixed",
        include_header=False,
        include_trailer=False,
        fields=parse_fields("reference,6\npayer_name,20"),
    )

    run = run_export(council=council_a, target=target, acting_user=officer)

    assert export_bytes(run.sha256).decode() == "A\\B\"C Siân O'Brien, Ltd   \r\n"


def test_csv_cells_are_quoted_and_neutralised_as_a_spreadsheet_needs(
    council_a, cash, council_tax, officer
):
    pay(cash, council_tax, 100, "k1", reference="+44 1234", name='Smith, "Jo"')
    pay(cash, council_tax, 200, "k2", reference="@SUM(A1)", name="-1+1")
    target = revenues(council_tax, fields="reference\npayer_name\nnarrative\namount")
    target.delimiter = ";"
    target.include_trailer = False
    target.save()

    run = run_export(council=council_a, target=target, acting_user=officer)

    assert export_text(run).splitlines() == [
        "reference;payer_name;narrative;amount",
        '\'+44 1234;"Smith, ""Jo""";;1.00',
        "'@SUM(A1);'-1+1;;2.00",
    ]


def test_a_csv_cell_starting_with_a_tab_is_neutralised_too(council_a, cash, council_tax, officer):
    """A spreadsheet may drop the tab and run the formula after it. (A receipt's own text
    never starts with one, being kept on one line; the forms refuse a fund's codes with one,
    but a fund may be older than that check.)"""
    council_tax.ledger_code, council_tax.cost_centre = "\t=1+1", "\r-2"
    council_tax.save()
    pay(cash, council_tax, 100, "k1")
    target = revenues(council_tax, fields="ledger_code\ncost_centre\namount")
    target.include_trailer = False
    target.save()

    run = run_export(council=council_a, target=target, acting_user=officer)

    assert export_bytes(run.sha256) == (
        b"ledger_code,cost_centre,amount\r\n'\t=1+1,\"'\r-2\",1.00\r\n"
    )


def test_a_receipts_text_is_kept_on_one_line(council_a, cash, council_tax):
    receipt = pay(cash, council_tax, 100, "k1", reference="50000004\n", name="Jo\tBloggs\r\nJr")
    assert (receipt.payer_reference, receipt.payer_name) == ("50000004", "Jo Bloggs  Jr")
    # A line separator breaks a line too; a non-breaking space does not, and stays.
    receipt = pay(cash, council_tax, 100, "k2", name="Anne\u2028Marie\u00a0Smith")
    assert receipt.payer_name == "Anne Marie\u00a0Smith"


def test_a_line_break_that_reached_the_ledger_fails_the_export_and_marks_nothing_sent(
    council_a, cash, council_tax, officer
):
    receipt = pay(cash, council_tax, 100, "k1")
    with connection.cursor() as cursor:  # as if written before text was kept on one line
        cursor.execute(
            "UPDATE income_receipt SET payer_name = %s WHERE id = %s", ["Jo\nBloggs", receipt.pk]
        )
    target = revenues(council_tax, fields="payer_name\namount")

    with pytest.raises(RuntimeError, match="the file has 2 lines for 1 postings"):
        run_export(council=council_a, target=target, acting_user=officer)

    failed = ExportRun.objects.get(target=target)
    assert failed.status == ExportStatus.FAILED
    assert "nothing was marked as sent" in failed.message
    Receipt.objects.filter(pk=receipt.pk).update(payer_name="Jo Bloggs")
    mended = run_export(council=council_a, target=target, acting_user=officer)
    assert mended.line_count == 1
    assert mended.previous is None  # the failed run took nothing


def test_layout_lines_and_date_formats_are_checked():
    with pytest.raises(ValueError, match='Line 2: "colour" is not a field'):
        parse_fields("amount\ncolour,3")
    with pytest.raises(ValueError, match="Line 1: the width must be a whole number"):
        parse_fields("amount,wide")
    assert to_char_format("%d/%m/%Y") == 'DD"/"MM"/"YYYY'
    assert to_char_format("%Y%m%d") == "YYYYMMDD"
    with pytest.raises(ValueError, match="%H is not a date part"):
        to_char_format("%d %H")
    with pytest.raises(ValueError, match="no quotes"):
        to_char_format('%d"%m')
    with pytest.raises(ValueError, match="A % on its own is not a date part"):
        to_char_format("%d/%m/%Y%")


def test_the_target_form_refuses_a_date_format_it_cannot_write(ledger):
    form = ExportTargetForm(
        data={
            "name": "Revenues",
            "layout": "csv",
            "delimiter": ",",
            "date_format": "%A %d",
            "amount_format": "pounds",
            "field_lines": "amount",
        }
    )
    assert not form.is_valid()
    assert form.errors["date_format"] == [
        "%A is not a date part Counterfoil writes; use %d, %m, %Y, %y, %b, %j."
    ]
    form = ExportTargetForm(data={**form.data, "date_format": "%d/%m/%Y%"})
    assert not form.is_valid()
    assert form.errors["date_format"] == [
        "A % on its own is not a date part; use %d, %m, %Y, %y, %b, %j."
    ]


def test_an_auditor_may_download_but_not_run_an_export(council_a, cash, council_tax, auditor):
    target = ExportTarget.objects.create(name="Ledger", fields=parse_fields("amount"))
    with pytest.raises(PermissionDenied):
        run_export(council=council_a, target=target, acting_user=auditor)
    assert not ExportRun.objects.exists()


def test_export_now_pressed_twice_queues_one_file(council_a, cash, council_tax, officer):
    target = revenues(council_tax)
    first = request_export(council=council_a, target=target, acting_user=officer)
    second = request_export(council=council_a, target=target, acting_user=officer)
    assert first.pk == second.pk
    assert first.status == ExportStatus.QUEUED
    target.is_active = False
    target.save()
    with pytest.raises(ValidationError, match="Revenues is not in use"):
        request_export(council=council_a, target=target, acting_user=officer)


def test_export_now_queues_again_a_run_whose_worker_was_lost(
    council_a, cash, council_tax, officer, django_capture_on_commit_callbacks
):
    pay(cash, council_tax, 100, "k1")
    target = revenues(council_tax)
    run = request_export(council=council_a, target=target, acting_user=officer)
    # A worker marked it as being made, then died, and its message was not delivered again.
    started = timezone.now() - datetime.timedelta(minutes=5)
    ExportRun.objects.filter(pk=run.pk).update(status=ExportStatus.RUNNING, started_at=started)
    with django_capture_on_commit_callbacks() as callbacks:
        assert request_export(council=council_a, target=target, acting_user=officer) == run
    assert callbacks == []  # as far as anyone can tell, it is still being made

    long_ago = timezone.now() - datetime.timedelta(minutes=11)
    ExportRun.objects.filter(pk=run.pk).update(started_at=long_ago)
    with django_capture_on_commit_callbacks() as callbacks:
        assert request_export(council=council_a, target=target, acting_user=officer) == run
    [queued] = callbacks
    sent = inspect.getclosurevars(queued).nonlocals  # tenants.council_task.send_on_commit
    assert (sent["task_name"], sent["args"]) == ("income.make_export", (run.pk,))

    make_export(run.pk)  # what the queued task does
    run.refresh_from_db()
    assert (run.status, run.line_count) == (ExportStatus.COMPLETED, 1)


def test_an_export_after_the_transaction_ids_went_back_is_refused_and_sends_nothing(
    council_a, cash, council_tax, officer
):
    """As after a restore from a dump onto another server: the last run's snapshot is ahead
    of every transaction id here, so its window would hold nothing new, ever."""
    pay(cash, council_tax, 100, "k1")
    target = revenues(council_tax)
    ahead = 10**15
    last = ExportRun.objects.create(
        target=target, status=ExportStatus.COMPLETED, snapshot_xmin=ahead, snapshot_xmax=ahead
    )

    with pytest.raises(Exception, match="transaction ids are behind those of the last file"):
        run_export(council=council_a, target=target, acting_user=officer)

    refused = ExportRun.objects.exclude(pk=last.pk).get(target=target)
    assert refused.status == ExportStatus.FAILED and refused.sha256 == ""
    assert "Nothing was exported; ask the platform operators to mend the exports." in (
        refused.message
    )
    assert list(ExportRun.objects.filter(status=ExportStatus.COMPLETED)) == [last]


def test_a_made_export_is_audited_as_made_by_whoever_ran_it(council_a, cash, council_tax, officer):
    pay(cash, council_tax, 100, "k1")
    run = run_export(council=council_a, target=revenues(council_tax), acting_user=officer)
    made = AuditEvent.objects.get(action="export.made")
    assert (made.actor_id, made.actor_email, made.target_id) == (
        officer.pk,
        officer.email,
        str(run.pk),
    )


@pytest.fixture
def paid_rent_target(db, council_a):
    """Council A with £10 paid to its Rents fund and a target for it, left on public (as a
    request from a council's host starts)."""
    from income.defaults import seed_income_defaults
    from income.models import Channel

    with schema_context(council_a.schema_name):
        seed_income_defaults()
        fund = FundFactory(code="RENT", name="Rents")
        pay(Channel.objects.get(code="CASH"), fund, 1_000, "k1")
        return ExportTarget.objects.create(
            name="Northbrook ledger", fields=parse_fields("fund_code\namount")
        )


def test_the_pages_queue_an_export_and_download_the_same_bytes(council_a, paid_rent_target):
    target = paid_rent_target
    officer = make_member(council_a, CouncilRole.INCOME_OFFICER)
    client = host_client(council_a)
    client.login(email=officer.email, password=PASSWORD)

    response = client.post("/exports/", {"target": target.pk})
    assert response.status_code == 302
    run_id = int(response["Location"].rstrip("/").rsplit("/", 1)[1])
    waiting = client.get(response["Location"])
    assert waiting["Refresh"] == "2"
    assert "Waiting to start" in waiting.content.decode()
    assert client.get(f"/exports/runs/{run_id}/file/").status_code == 404

    with schema_context(council_a.schema_name):
        make_export(run_id)  # the worker's half (tests/income/test_export_worker.py runs it)
    page = client.get(response["Location"])
    assert "Refresh" not in page
    assert "£10.00" in page.content.decode()
    first = b"".join(client.get(f"/exports/runs/{run_id}/file/").streaming_content)
    second = b"".join(client.get(f"/exports/runs/{run_id}/file/").streaming_content)
    assert first == second == b"fund_code,amount\r\nRENT,10.00\r\nTRAILER,1,10.00\r\n"

    auditor = make_member(council_a, CouncilRole.AUDITOR)
    client.login(email=auditor.email, password=PASSWORD)
    assert client.post("/exports/", {"target": target.pk}).status_code == 403
    assert client.get(f"/exports/runs/{run_id}/file/").status_code == 200


def test_the_target_page_saves_its_funds_with_the_target_in_one_audited_change(
    council_a, paid_rent_target
):
    target = paid_rent_target
    admin = make_member(council_a, CouncilRole.ADMIN)
    client = host_client(council_a)
    client.login(email=admin.email, password=PASSWORD)
    with schema_context(council_a.schema_name):
        rent = target.funds.model.objects.get(code="RENT")
    form = {
        "name": "Northbrook ledger", "layout": "csv", "delimiter": ",", "include_header": "on",
        "include_trailer": "on", "date_format": "%d/%m/%Y", "amount_format": "pounds",
        "field_lines": "fund_code\namount", "funds": [rent.pk], "is_active": "on",
    }  # fmt: skip
    assert client.post(f"/exports/targets/{target.pk}/", form).status_code == 302

    with schema_context(council_a.schema_name):
        assert list(target.funds.values_list("code", flat=True)) == ["RENT"]
        event = AuditEvent.objects.filter(action="export_target.changed").latest("pk")
        assert event.actor_email == admin.email
        assert (event.before, event.after["funds"]) == ({"funds": []}, ["RENT"])


def test_council_b_sees_nothing_of_council_a_exports(council_a, council_b, paid_rent_target):
    from income.defaults import seed_income_defaults

    target = paid_rent_target
    with schema_context(council_a.schema_name):
        run = run_export(council=council_a, target=target, acting_user=None)
    with schema_context(council_b.schema_name):
        seed_income_defaults()
    other = make_member(council_b, CouncilRole.ADMIN)
    on_b = host_client(council_b)
    on_b.login(email=other.email, password=PASSWORD)
    on_a = host_client(council_a)
    on_a.login(email=other.email, password=PASSWORD)

    assert on_b.get(f"/exports/runs/{run.pk}/").status_code == 404
    assert on_b.get(f"/exports/runs/{run.pk}/file/").status_code == 404
    assert "Northbrook ledger" not in on_b.get("/exports/").content.decode()
    assert on_b.post("/exports/", {"target": target.pk}).status_code == 404
    assert on_a.get(f"/exports/runs/{run.pk}/file/").status_code in (302, 403, 404)


def test_the_general_ledger_journal_is_summarised_per_day_and_balances(
    council_a, cash, council_tax, parking, officer
):
    council_tax.ledger_code, council_tax.cost_centre = "4001", "CC10"
    council_tax.save()
    parking.ledger_code, parking.cost_centre = "4002", "CC11"
    parking.save()
    pay(cash, council_tax, 10_000, "k1")
    pay(cash, council_tax, 2_500, "k2")
    bounced = pay(cash, parking, 500, "k3")
    target = ExportTarget.objects.create(
        name="General ledger", layout="gl_journal", control_ledger_code="9000", fields=[]
    )

    run = run_export(council=council_a, target=target, acting_user=officer)

    assert export_text(run).splitlines() == [
        "date,ledger_code,cost_centre,vat_code,debit,credit,description",
        "20/11/2026,9000,,,130.00,,Net income for the day",
        "20/11/2026,4001,CC10,,,125.00,2 entries",
        "20/11/2026,4002,CC11,,,5.00,1 entry",
        "TOTAL,,,,130.00,130.00,3 lines",
    ]
    assert (run.line_count, run.total_pence) == (3, 13_000)

    reverse_receipt(council=council_a, receipt=bounced, reason="bounced", acting_user=None)
    correction = run_export(council=council_a, target=target, acting_user=officer)
    today = datetime.date.today().strftime("%d/%m/%Y")
    assert export_text(correction).splitlines()[1:] == [
        f"{today},9000,,,,5.00,Net income for the day",
        f"{today},4002,CC11,,5.00,,1 entry",
        "TOTAL,,,,5.00,5.00,2 lines",
    ]
    assert [line.entry for line in run_contents(correction, limit=9)] == ["Reversal"]


def test_daily_exports_run_for_the_targets_that_ask_for_them(council_a, cash, council_tax):
    from income.tasks import run_daily_exports_task

    pay(cash, council_tax, 1_000, "k1")
    daily = ExportTarget.objects.create(
        name="Daily", fields=parse_fields("amount"), runs_daily=True
    )
    ExportTarget.objects.create(name="On demand", fields=parse_fields("amount"))

    run_daily_exports_task()
    run_daily_exports_task()  # again the same day: nothing is sent twice

    runs = list(ExportRun.objects.order_by("id"))
    assert [(run.target, run.line_count) for run in runs] == [(daily, 1), (daily, 0)]


@pytest.mark.django_db
def test_the_command_queues_each_active_councils_daily_exports(council_a, council_b):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("run_daily_exports", stdout=out)
    assert "Queued the daily exports of" in out.getvalue()
