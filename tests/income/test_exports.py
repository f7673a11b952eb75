"""Exports: each allocated receipt goes to each target once, in the target's layout (CSV with
formulas neutralised, or fixed width with header and trailer), and every file downloads again
byte for byte with a list of what it holds."""

import datetime
import hashlib

import pytest
from django.core.exceptions import PermissionDenied
from django_tenants.utils import schema_context

from income.actions.exports import export_path, run_export
from income.actions.receipts import Allocation, record_receipt
from income.actions.suspense import allocate_from_suspense
from income.exports.layout import parse_fields
from income.models import ExportTarget
from tenants.models import CouncilRole
from tests.conftest import host_client, make_member
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


def test_each_receipt_goes_to_a_target_once_and_suspense_waits(
    council_a, cash, council_tax, parking, officer
):
    council_tax.ledger_code = "4001"
    council_tax.save()
    first = pay(cash, council_tax, 12_345, "k1", reference="=HYPERLINK(1)")
    pay(cash, parking, 500, "k2")
    waiting = pay(cash, None, 2_000, "k3")
    target = ExportTarget.objects.create(
        name="Revenues",
        fields=parse_fields(
            "receipt_number\nreceived_on\nreference\nfund_code\nledger_code\namount"
        ),
    )
    target.funds.set([council_tax])

    run = run_export(council=council_a, target=target, acting_user=officer)

    content = export_path(run).read_bytes()
    assert content.decode() == (
        "receipt_number,received_on,reference,fund_code,ledger_code,amount\r\n"
        f"{first.number},20/11/2026,'=HYPERLINK(1),CTAX,4001,123.45\r\n"
        "TRAILER,1,123.45\r\n"
    )
    assert (run.receipt_count, run.total_pence) == (1, 12_345)
    assert run.sha256 == hashlib.sha256(content).hexdigest()

    again = run_export(council=council_a, target=target, acting_user=officer)
    assert (again.receipt_count, again.line_count) == (0, 0)

    allocate_from_suspense(
        council=council_a,
        receipt=waiting,
        allocations=[Allocation(council_tax, 2_000)],
        note="found it",
        acting_user=officer,
    )
    later = run_export(council=council_a, target=target, acting_user=officer)
    assert [r.receipt_id for r in later.receipts.all()] == [waiting.pk]
    assert export_path(run).read_bytes() == content  # the first file is unchanged


def test_a_fixed_width_layout_pads_and_cuts_each_field(council_a, cash, council_tax, officer):
    receipt = pay(cash, council_tax, 12_345, "k1", reference="50000004", name="A Very Long Name")
    target = ExportTarget.objects.create(
        name="Housing",
        layout="fixed",
        amount_format="pence",
        date_format="%Y%m%d",
        fields=parse_fields("reference,10,left\npayer_name,6\nreceived_on,8\namount,12,right,0"),
    )

    run = run_export(council=council_a, target=target, acting_user=officer)

    assert export_path(run).read_text().splitlines() == [
        f"HDR{datetime.date.today():%Y%m%d}",
        "50000004  A Very20261120000000012345",
        "TRL000000001000000000012345",
    ]
    assert receipt.pk == run.receipts.get().receipt_id


def test_layout_lines_are_checked():
    with pytest.raises(ValueError, match='Line 2: "colour" is not a field'):
        parse_fields("amount\ncolour,3")
    with pytest.raises(ValueError, match="Line 1: the width must be a whole number"):
        parse_fields("amount,wide")


def test_an_auditor_may_download_but_not_run_an_export(council_a, cash, council_tax, auditor):
    target = ExportTarget.objects.create(name="Ledger", fields=parse_fields("amount"))
    with pytest.raises(PermissionDenied):
        run_export(council=council_a, target=target, acting_user=auditor)


@pytest.mark.django_db
def test_the_pages_run_an_export_and_download_the_same_bytes(council_a):
    from income.defaults import seed_income_defaults
    from income.models import Channel

    with schema_context(council_a.schema_name):
        seed_income_defaults()
        fund = FundFactory(code="RENT", name="Rents")
        pay(Channel.objects.get(code="CASH"), fund, 1_000, "k1")
        target = ExportTarget.objects.create(
            name="Ledger", fields=parse_fields("fund_code\namount")
        )
    officer = make_member(council_a, CouncilRole.INCOME_OFFICER)
    client = host_client(council_a)
    client.login(email=officer.email, password=PASSWORD)

    response = client.post("/exports/", {"target": target.pk})
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert "£10.00" in page.content.decode()
    run_id = response["Location"].rstrip("/").rsplit("/", 1)[1]
    first = b"".join(client.get(f"/exports/runs/{run_id}/file/").streaming_content)
    second = b"".join(client.get(f"/exports/runs/{run_id}/file/").streaming_content)
    assert first == second == b"fund_code,amount\r\nRENT,10.00\r\nTRAILER,1,10.00\r\n"

    auditor = make_member(council_a, CouncilRole.AUDITOR)
    client.login(email=auditor.email, password=PASSWORD)
    assert client.post("/exports/", {"target": target.pk}).status_code == 403
    assert client.get(f"/exports/runs/{run_id}/file/").status_code == 200


def test_the_general_ledger_journal_is_summarised_per_day_and_balances(
    council_a, cash, council_tax, parking, officer
):
    council_tax.ledger_code, council_tax.cost_centre = "4001", "CC10"
    council_tax.save()
    parking.ledger_code, parking.cost_centre = "4002", "CC11"
    parking.save()
    pay(cash, council_tax, 10_000, "k1")
    pay(cash, council_tax, 2_500, "k2")
    pay(cash, parking, 500, "k3")
    target = ExportTarget.objects.create(
        name="General ledger", layout="gl_journal", control_ledger_code="9000", fields=[]
    )

    run = run_export(council=council_a, target=target, acting_user=officer)

    assert export_path(run).read_text().splitlines() == [
        "date,ledger_code,cost_centre,vat_code,debit,credit,description",
        "20/11/2026,9000,,,130.00,,Income banked",
        "20/11/2026,4001,CC10,,,125.00,2 receipts",
        "20/11/2026,4002,CC11,,,5.00,1 receipt",
        "TOTAL,,,,130.00,130.00,3 lines",
    ]
    assert (run.receipt_count, run.total_pence) == (3, 13_000)


def test_daily_exports_run_for_the_targets_that_ask_for_them(council_a, cash, council_tax):
    from income.models import ExportRun
    from income.tasks import run_daily_exports_task

    pay(cash, council_tax, 1_000, "k1")
    daily = ExportTarget.objects.create(
        name="Daily", fields=parse_fields("amount"), runs_daily=True
    )
    ExportTarget.objects.create(name="On demand", fields=parse_fields("amount"))

    run_daily_exports_task()
    run_daily_exports_task()  # again the same day: nothing is sent twice

    runs = list(ExportRun.objects.order_by("id"))
    assert [(run.target, run.receipt_count) for run in runs] == [(daily, 1), (daily, 0)]


@pytest.mark.django_db
def test_the_command_queues_each_active_councils_daily_exports(council_a, council_b):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("run_daily_exports", stdout=out)
    assert "Queued the daily exports of" in out.getvalue()
