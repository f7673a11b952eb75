"""Finding 9: CSV formula injection through an export target's date format and control code
(`=cmd|' /C calc'!A0` on every line). Such layouts are refused when saved, and every text cell
written is neutralised, dates included, for targets saved before the check."""

import csv
import datetime
import io

import pytest
from django.core.exceptions import ValidationError

from income.actions.exports import run_export, save_export_target
from income.actions.receipts import Allocation, record_receipt
from income.csv_cells import FORMULA_STARTS
from income.defaults import seed_income_defaults
from income.exports.forms import ExportTargetForm
from income.exports.layout import parse_fields
from income.models import Channel, ExportTarget
from tenants.models import CouncilRole
from tests.conftest import make_member
from tests.exported import export_text
from tests.factories import FundFactory

ATTACK = "=cmd|' /C calc'!A0"
DATE_REFUSED = (
    "A date format cannot start with =, +, -, @, a tab or a carriage return: a spreadsheet "
    "would run the cell as a formula."
)
CONTROL_REFUSED = (
    "The control code cannot start with =, +, -, @, a tab or a carriage return: a spreadsheet "
    "would run the cell as a formula."
)


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def ledger(db, in_council_a):
    seed_income_defaults()
    return in_council_a


@pytest.fixture
def admin(council_a):
    return make_member(council_a, CouncilRole.ADMIN)


@pytest.fixture
def council_tax(ledger):
    fund = FundFactory(code="CTAX", name="Council Tax")
    fund.ledger_code = "4001"
    fund.save()
    record_receipt(
        channel=Channel.objects.get(code="CASH"),
        amount_pence=12_345,
        received_on=datetime.date(2026, 11, 20),
        allocations=[Allocation(fund, 12_345)],
        idempotency_key="formula",
        payer_reference="CT1",
        acting_user=None,
    )
    return fund


def form_data(**changes):
    return {
        "name": "Revenues",
        "layout": "csv",
        "delimiter": ",",
        "date_format": "%d/%m/%Y",
        "amount_format": "pounds",
        "field_lines": "received_on\namount",
        **changes,
    }


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_a_date_format_starting_a_formula_is_refused(ledger, start):
    form = ExportTargetForm(data=form_data(date_format=f"{start}1+1 %d"))
    assert not form.is_valid()
    assert form.errors["date_format"] == [DATE_REFUSED]


def test_the_attack_is_refused_in_the_date_format_and_the_control_code(ledger):
    form = ExportTargetForm(
        data=form_data(layout="gl_journal", date_format=ATTACK, control_ledger_code=ATTACK)
    )
    assert not form.is_valid()
    assert form.errors["date_format"] == [DATE_REFUSED]
    assert form.errors["control_ledger_code"] == [CONTROL_REFUSED]
    # A usual layout with a minus inside is still fine.
    assert ExportTargetForm(data=form_data(date_format="%d-%m-%Y")).is_valid()


def test_the_action_refuses_them_too_and_saves_nothing(ledger, admin):
    target = ExportTarget(
        name="General ledger", layout="gl_journal", control_ledger_code=ATTACK, date_format=ATTACK
    )
    with pytest.raises(ValidationError) as refusal:
        save_export_target(council=ledger, target=target, acting_user=admin)
    assert refusal.value.messages == [DATE_REFUSED, CONTROL_REFUSED]
    # (The form strips a leading tab; the action, which may be called without it, refuses it.)
    tabbed = ExportTarget(name="Tabbed", date_format="\t%d/%m/%Y")
    with pytest.raises(ValidationError) as refusal:
        save_export_target(council=ledger, target=tabbed, acting_user=admin)
    assert refusal.value.messages == [DATE_REFUSED]
    assert not ExportTarget.objects.exists()


def cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_a_csv_target_saved_before_the_check_writes_its_dates_neutralised(
    council_a, council_tax, admin
):
    target = ExportTarget.objects.create(
        name="Old", fields=parse_fields("received_on\nreference\namount"), date_format=ATTACK
    )
    target.funds.set([council_tax])
    run = run_export(council=council_a, target=target, acting_user=admin)
    rows = cells(export_text(run))
    assert rows == [
        ["received_on", "reference", "amount"],
        ["'" + ATTACK, "CT1", "123.45"],
        ["TRAILER", "1", "123.45"],
    ]


def test_a_ledger_journal_saved_before_the_check_writes_no_formula(council_a, council_tax, admin):
    target = ExportTarget.objects.create(
        name="Old GL", layout="gl_journal", control_ledger_code=ATTACK, date_format=ATTACK,
        fields=[],
    )  # fmt: skip
    run = run_export(council=council_a, target=target, acting_user=admin)
    rows = cells(export_text(run))
    assert not [cell for row in rows for cell in row if cell.startswith(FORMULA_STARTS)]
    # Nothing valid dropped: the day's two lines, balanced.
    assert rows[1:] == [
        ["'" + ATTACK, "'" + ATTACK, "", "", "123.45", "", "Net income for the day"],
        ["'" + ATTACK, "4001", "", "", "", "123.45", "1 entry"],
        ["TOTAL", "", "", "", "123.45", "123.45", "2 lines"],
    ]
