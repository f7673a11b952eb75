"""Bank reconciliation: statement credits matched to expected bankings (allpay's daily
totals, card takings, cash-ups), exactly or within a tolerance; the rest on a worklist to
explain; each day signed off by a person with the right role."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from income.actions.receipts import Allocation, record_receipt
from income.actions.reconciliation import (
    explain_line,
    load_statement,
    match_statement,
    sign_off_day,
)
from income.expected_bankings import expected_bankings
from income.models import BankStatement, Channel, MatchKind, ReconciliationSignOff
from income.models import StatementLine as StatementLineModel
from tests.factories import FundFactory

DAY = datetime.date(2026, 11, 20)


def take(code: str, pence: int, key: str, fund) -> None:
    channel, _ = Channel.objects.get_or_create(
        code=code, defaults={"name": code, "kind": "allpay_paypoint"}
    )
    record_receipt(
        channel=channel,
        amount_pence=pence,
        received_on=DAY,
        allocations=[Allocation(fund, pence)],
        idempotency_key=key,
        acting_user=None,
    )


def statement(entries: list[tuple[str, str]]) -> SimpleUploadedFile:
    body = "".join(
        f'<Ntry><Amt Ccy="GBP">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
        f"<BookgDt><Dt>{day}</Dt></BookgDt><NtryDtls><TxDtls><RmtInf><Ustrd>BANKING</Ustrd>"
        "</RmtInf></TxDtls></NtryDtls></Ntry>"
        for amount, day in entries
    )
    xml = (
        '<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">'
        f"<BkToCstmrStmt><Stmt><Acct><Ccy>GBP</Ccy></Acct>{body}</Stmt></BkToCstmrStmt>"
        "</Document>"
    )
    return SimpleUploadedFile("statement.xml", xml.encode())


def test_credits_match_expected_bankings_exactly_or_within_tolerance(
    council_a, ledger, officer, manager
):
    fund = FundFactory(code="CTAX")
    take("ALLPAY-PO", 10_000, "a1", fund)
    take("ALLPAY-PP", 2_345, "a2", fund)
    take("CARD", 5_000, "c1", fund)
    assert [(e.key, e.pence) for e in expected_bankings(DAY, DAY)] == [
        ("allpay:2026-11-20", 12_345),
        ("card:2026-11-20", 5_000),
    ]
    loaded = load_statement(
        council=council_a,
        uploaded_file=statement(
            [("123.45", "2026-11-22"), ("49.50", "2026-11-21"), ("7.00", "2026-11-22")]
        ),
        format_name="camt053",
        acting_user=officer,
    )

    assert match_statement(council=council_a, statement=loaded, acting_user=officer) == 2

    lines = {line.line_number: line for line in loaded.lines.all()}
    assert (lines[1].match_kind, lines[1].match_key) == ("allpay", "allpay:2026-11-20")
    assert (lines[2].match_kind, lines[2].difference_pence) == ("card", -50)
    assert "within the tolerance" in lines[2].note
    assert lines[3].match_kind == ""
    assert expected_bankings(DAY, DAY) == []

    with pytest.raises(ValidationError, match="1 bank line for 22 November 2026 is neither"):
        sign_off_day(council=council_a, day=datetime.date(2026, 11, 22), acting_user=manager)
    explain_line(council=council_a, line=lines[3], note="Interest", acting_user=officer)
    with pytest.raises(PermissionDenied):
        sign_off_day(council=council_a, day=datetime.date(2026, 11, 22), acting_user=officer)
    signed = sign_off_day(council=council_a, day=datetime.date(2026, 11, 22), acting_user=manager)
    assert signed.signed_by_email == manager.email
    assert ReconciliationSignOff.objects.get(day=datetime.date(2026, 11, 22)) == signed
    lines[3].refresh_from_db()
    assert lines[3].match_kind == MatchKind.EXPLAINED


def test_the_same_statement_twice_is_refused(council_a, ledger, officer):
    load_statement(
        council=council_a,
        uploaded_file=statement([("1.00", "2026-11-22")]),
        format_name="camt053",
        acting_user=officer,
    )
    with pytest.raises(ValidationError, match="already loaded"):
        load_statement(
            council=council_a,
            uploaded_file=statement([("1.00", "2026-11-22")]),
            format_name="camt053",
            acting_user=officer,
        )


@pytest.mark.django_db
def test_the_reconciliation_pages_load_match_explain_and_sign_off(council_a):
    from django_tenants.utils import schema_context

    from income.defaults import seed_income_defaults
    from tenants.models import CouncilRole
    from tests.conftest import host_client, make_member
    from tests.factories import PASSWORD

    with schema_context(council_a.schema_name):
        seed_income_defaults()
        take("ALLPAY-PO", 10_000, "a1", FundFactory(code="CTAX"))
    officer = make_member(council_a, CouncilRole.INCOME_OFFICER)
    manager = make_member(council_a, CouncilRole.FINANCE_MANAGER)
    client = host_client(council_a)
    client.login(email=officer.email, password=PASSWORD)

    loaded = client.post(
        "/reconciliation/",
        {
            "format": "camt053",
            "file": statement([("100.00", "2026-11-21"), ("3.00", "2026-11-21")]),
        },
    )
    assert loaded.status_code == 302, loaded.content.decode()
    matched = client.post(loaded["Location"], {"tolerance": "0.00"})
    assert matched.status_code == 302
    page = client.get(loaded["Location"]).content.decode()
    assert "allpay daily total" in page and "Not matched" in page
    with schema_context(council_a.schema_name):
        open_line = StatementLineModel.objects.get(match_kind="")
    assert (
        client.post(
            f"/reconciliation/lines/{open_line.pk}/explain/", {"note": "Bank interest"}
        ).status_code
        == 302
    )
    assert client.post("/reconciliation/days/2026-11-21/sign-off/").status_code == 403

    client.login(email=manager.email, password=PASSWORD)
    client.post("/reconciliation/days/2026-11-21/sign-off/")
    index = client.get("/reconciliation/").content.decode()
    assert manager.email in index
    assert "Every bank line is matched or explained." in index


def test_a_reversed_imports_money_out_is_not_taken_off_the_expected_banking(
    council_a, ledger, officer, settings, tmp_path
):
    from income.actions.imports import reverse_import, upload_import
    from income.formats import allpay
    from income.imports.pipeline import run_import

    settings.MEDIA_ROOT = tmp_path
    fund = FundFactory(code="CTAX")
    take("ALLPAY-PO", 10_000, "a1", fund)
    lines = [
        allpay.write_line(reference="CT000001", amount_pence=2_000, letter="P", date=DAY),
        allpay.write_line(reference="NOSUCHREF", amount_pence=-500, letter="P", date=DAY),
    ]
    body = lines + allpay.write_trailer(total_pence=1_500, count=2)
    batch = run_import(
        upload_import(
            council=council_a,
            uploaded_file=SimpleUploadedFile("a.txt", ("\r\n".join(body) + "\r\n").encode()),
            format_name="allpay",
            acting_user=officer,
            default_date=DAY,
        ).pk
    )
    assert batch.status == "completed", batch.message
    assert [(e.key, e.pence) for e in expected_bankings(DAY, DAY)] == [
        ("allpay:2026-11-20", 11_500)
    ]

    reverse_import(council=council_a, batch=batch, reason="Wrong file", acting_user=officer)

    # The import's £20 receipt and its £5 taken back are both undone: the day expects the
    # £100 taken otherwise, not £95.
    assert [(e.key, e.pence) for e in expected_bankings(DAY, DAY)] == [
        ("allpay:2026-11-20", 10_000)
    ]


MT940 = (
    ":20:S1\n:25:20000012345678\n:28C:7/1\n:60F:C261120GBP100,00\n"
    ":61:2611201120C120,00NTRFUNKNOWN1//B1\n:86:BANK GIRO CREDIT O SMITH\n"
    ":61:2611201120D25,00NTRFNONREF//RTN0001\n:86:RETURNED DIRECT DEBIT\n"
    ":62F:C261120GBP{closing}\n"
)


def mt940(closing: str, name: str = "statement.sta", narrative: str = "") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, (MT940.format(closing=closing) + narrative).encode())


def test_a_statement_whose_balances_do_not_add_up_is_not_loaded(council_a, ledger, officer):
    with pytest.raises(ValidationError) as refusal:
        load_statement(
            council=council_a,
            uploaded_file=mt940("196,00"),
            format_name="mt940",
            acting_user=officer,
        )
    (message,) = refusal.value.messages
    assert message.startswith("The statement does not add up, so it was not loaded: ")
    assert "£196.00" in message and "£195.00" in message
    assert message.endswith("Ask the bank for the statement again.")
    assert not BankStatement.objects.exists()
    assert not StatementLineModel.objects.exists()


def test_a_statement_the_bank_sends_again_is_known_as_the_one_loaded(council_a, ledger, officer):
    first = load_statement(
        council=council_a,
        uploaded_file=mt940("195,00"),
        format_name="mt940",
        acting_user=officer,
    )
    assert first.line_count == 2

    # The same statement (:20: S1, :28C: 7/1), sent again as another file.
    with pytest.raises(ValidationError) as refusal:
        load_statement(
            council=council_a,
            uploaded_file=mt940("195,00", name="again.sta", narrative="-\n"),
            format_name="mt940",
            acting_user=officer,
        )

    assert refusal.value.messages[0].startswith("This statement (S1")
    assert (
        f"(statement {first.pk}), from a file created at another time."
        in (refusal.value.messages[0])
    )
    assert StatementLineModel.objects.count() == 2
