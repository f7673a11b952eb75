"""ARUDD reports: each returned Direct Debit reverses its original receipt with the return
code as the reason; what matches nothing is on the worklist; a report applied twice changes
nothing; a DTD is refused."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from income.accounts import fund_account
from income.actions.receipts import Allocation, record_receipt
from income.actions.returned_debits import apply_returned_debits
from income.balances import account_balance
from income.models import Channel, ReceiptStatus, ReturnedDebit
from tenants.models import CouncilRole
from tests.conftest import host_client, make_member
from tests.factories import PASSWORD, FundFactory

DAY = datetime.date(2026, 11, 20)


def arudd(items: list[tuple[str, str, str]]) -> SimpleUploadedFile:
    body = "".join(
        f'<ReturnedDebitItem ref="{ref}" transCode="17" returnCode="{code}" '
        f'returnDescription="REFER TO PAYER" originalProcessingDate="2026-11-20" '
        f'valueOf="{value}" currency="GBP"><PayerAccount number="12345678" ref="{ref}" '
        'name="J SMITH" sortCode="200000"/></ReturnedDebitItem>'
        for ref, value, code in items
    )
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?><BACSDocument><Data><ARUDD>'
        '<Header reportType="REFT1027" currentProcessingDate="2026-11-24"/><Advice>'
        f"<OriginatingAccountRecords><OriginatingAccountRecord>{body}"
        "</OriginatingAccountRecord></OriginatingAccountRecords></Advice></ARUDD></Data>"
        "</BACSDocument>"
    )
    return SimpleUploadedFile("arudd.xml", xml.encode())


def test_a_returned_direct_debit_reverses_its_receipt(council_a, ledger, officer):
    fund = FundFactory(code="CTAX")
    dd = Channel.objects.get(code="DD")
    receipt = record_receipt(
        channel=dd,
        amount_pence=4_250,
        received_on=DAY,
        allocations=[Allocation(fund, 4_250)],
        idempotency_key="dd:1",
        acting_user=None,
        payer_reference="50000004",
    ).receipt

    results = apply_returned_debits(
        council=council_a,
        uploaded_file=arudd([("50000004", "42.50", "0"), ("99999999", "10.00", "1")]),
        acting_user=officer,
    )

    assert [(r.status, r.reference) for r in results] == [
        ("reversed", "50000004"),
        ("unmatched", "99999999"),
    ]
    receipt.refresh_from_db()
    assert receipt.status == ReceiptStatus.REVERSED
    assert account_balance(fund_account(fund)) == 0
    assert results[0].reason == "Direct Debit returned unpaid (ARUDD 0: REFER TO PAYER)"
    assert results[1].reason == (
        "no active Direct Debit receipt for 99999999 of £10.00 around 20 Nov 2026"
    )

    again = apply_returned_debits(
        council=council_a,
        uploaded_file=arudd([("50000004", "42.50", "0"), ("99999999", "10.00", "1")]),
        acting_user=officer,
    )
    assert [r.pk for r in again] == [r.pk for r in results]
    assert ReturnedDebit.objects.count() == 2


def test_an_arudd_report_with_a_dtd_is_refused(council_a, ledger, officer):
    bomb = SimpleUploadedFile(
        "x.xml", b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "y">]><BACSDocument/>'
    )
    with pytest.raises(ValidationError, match="declares a document type"):
        apply_returned_debits(council=council_a, uploaded_file=bomb, acting_user=officer)


@pytest.mark.django_db
def test_the_returned_debits_page_applies_a_report_and_lists_the_worklist(council_a):
    from income.defaults import seed_income_defaults

    with schema_context(council_a.schema_name):
        seed_income_defaults()
    officer = make_member(council_a, CouncilRole.INCOME_OFFICER)
    client = host_client(council_a)
    client.login(email=officer.email, password=PASSWORD)

    response = client.post("/imports/returned-debits/", {"file": arudd([("123", "5.00", "2")])})

    assert response.status_code == 302
    page = client.get("/imports/returned-debits/").content.decode()
    assert "No active Direct Debit receipt for 123 of £5.00" in page
