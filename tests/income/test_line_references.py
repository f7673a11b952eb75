"""A split payment keeps each line's own reference (issue 13, defects 1 and 6): £100 to Council
Tax for account 50000009 and £35.50 to Parking Fines for notice PN123456 is exported, refunded,
reversed, transferred and found under each line's reference, taken at the counter, paid in a
portal basket, or split from suspense."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context

from income.actions.exports import run_contents, run_export
from income.actions.receipts import Allocation, record_receipt, reverse_receipt
from income.actions.refunds import approve_refund, raise_refund
from income.actions.suspense import allocate_from_suspense
from income.actions.transfers import transfer_between_funds
from income.balances import HeldLine, receipt_allocation_lines
from income.exports.layout import parse_fields
from income.models import (
    Channel,
    ExportTarget,
    Journal,
    Posting,
    Receipt,
    ReferenceRule,
    Refund,
)
from income.receipt_search import ReceiptQuery, search_receipts
from tenants.models import CouncilRole
from tests.conftest import host_client, make_member
from tests.exported import export_text
from tests.factories import PASSWORD, FundFactory

COUNCIL_TAX_ACCOUNT = "50000009"  # Luhn: valid
PARKING_NOTICE = "PN123456"
DAY = datetime.date(2026, 11, 24)
FIELDS = "receipt_number\nreference\nfund_code\nentry\namount"


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def ruled(council_tax, parking):
    """Council Tax takes 8-digit Luhn accounts; Parking Fines takes PN and six digits."""
    council_tax.reference_rule = ReferenceRule.objects.create(
        name="Council Tax account", input_mask="########", check_digit_method="luhn"
    )
    council_tax.save()
    parking.reference_rule = ReferenceRule.objects.create(name="Parking notice", pattern=r"PN\d{6}")
    parking.save()
    return council_tax, parking


def client_for(user, council):
    client = host_client(council)
    client.login(email=user.email, password=PASSWORD)
    return client


def counter_form(council_tax, parking, token="tok-split", **overrides):  # noqa: S107
    data = {
        "submission_token": token,
        "channel": str(Channel.objects.get(code="CASH").pk),
        "received_on": "24/11/2026",
        "payer_name": "Jo Bloggs",
        "narrative": "",
        "form-TOTAL_FORMS": "3",
        "form-INITIAL_FORMS": "0",
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "10",
        "form-0-fund": str(council_tax.pk),
        "form-0-reference": COUNCIL_TAX_ACCOUNT,
        "form-0-amount": "100.00",
        "form-1-fund": str(parking.pk),
        "form-1-reference": PARKING_NOTICE,
        "form-1-amount": "35.50",
    }
    data.update(overrides)
    return data


def fund_lines(receipt):
    """(fund code, reference, pence) of each posting that placed money in a fund."""
    return sorted(
        (p.account.fund.code, p.effective_reference, -p.amount_pence)
        for p in Posting.objects.filter(
            receipt=receipt, account__kind="fund", amount_pence__lt=0
        ).select_related("account__fund", "receipt")
    )


def revenues(*funds):
    target = ExportTarget.objects.create(name="Revenues", fields=parse_fields(FIELDS))
    target.funds.set(funds)
    return target


def export_lines(council, target, user):
    return export_text(run_export(council=council, target=target, acting_user=user))


def test_a_counter_split_keeps_each_lines_reference_to_export_refund_and_search(
    council_a, ruled, officer, manager
):
    council_tax, parking = ruled
    target = revenues(council_tax, parking)
    client = client_for(officer, council_a)

    taken = client.post("/receipts/new/", counter_form(council_tax, parking))

    assert taken.status_code == 302
    receipt = Receipt.objects.get()
    assert receipt.payer_reference == COUNCIL_TAX_ACCOUNT  # the payer's main reference
    assert fund_lines(receipt) == [
        ("CTAX", COUNCIL_TAX_ACCOUNT, 10_000),
        ("PARK", PARKING_NOTICE, 3_550),
    ]
    park_posting = Posting.objects.get(receipt=receipt, account__fund=parking)
    assert park_posting.reference == PARKING_NOTICE
    assert park_posting.reference_rule == parking.reference_rule
    # The Council Tax line is the payer's own reference: nothing more is written for it.
    assert Posting.objects.get(receipt=receipt, account__fund=council_tax).reference is None

    page = client.get(f"/receipts/{receipt.number}/").content.decode()
    assert f"<code>{PARKING_NOTICE}</code>" in page

    run = run_export(council=council_a, target=target, acting_user=officer)
    assert export_text(run).splitlines()[1:3] == [
        f"{receipt.number},{COUNCIL_TAX_ACCOUNT},CTAX,receipt,100.00",
        f"{receipt.number},{PARKING_NOTICE},PARK,receipt,35.50",
    ]
    # The run's page lists what it holds, each line under its reference.
    assert [line.reference for line in run_contents(run, limit=9)] == [
        COUNCIL_TAX_ACCOUNT,
        PARKING_NOTICE,
    ]

    # Refund the Parking line through the page: the source names the fund (one line there).
    form = client.get(f"/receipts/{receipt.number}/refund/").content.decode()
    assert f"Parking Fines, reference {PARKING_NOTICE} (£35.50 held)" in form
    client.post(
        f"/receipts/{receipt.number}/refund/",
        {"source": str(parking.pk), "amount": "35.50", "reason": "Notice cancelled"},
    )
    refund = Refund.objects.get()
    assert refund.reference == PARKING_NOTICE
    assert PARKING_NOTICE in client.get(f"/refunds/{refund.pk}/").content.decode()
    approve_refund(council=council_a, refund=refund, acting_user=manager)
    assert export_lines(council_a, target, officer).splitlines()[1:2] == [
        f"{receipt.number},{PARKING_NOTICE},PARK,refund,-35.50"
    ]

    found, _ = search_receipts(ReceiptQuery(reference=PARKING_NOTICE.lower()))
    assert found == [receipt]
    assert search_receipts(ReceiptQuery(reference="PN1234*"))[0] == [receipt]
    assert search_receipts(ReceiptQuery(reference=COUNCIL_TAX_ACCOUNT))[0] == [receipt]
    assert search_receipts(ReceiptQuery(reference="PN999999"))[0] == []
    listing = client.get("/receipts/", {"reference": PARKING_NOTICE}).content.decode()
    assert receipt.number in listing


def test_another_councils_staff_find_nothing_by_a_line_reference(
    council_a, council_b, ruled, officer
):
    client_for(officer, council_a).post("/receipts/new/", counter_form(*ruled))
    assert search_receipts(ReceiptQuery(reference=PARKING_NOTICE))[0] == [Receipt.objects.get()]
    with schema_context(council_b.schema_name):
        stranger = make_member(council_b, CouncilRole.INCOME_OFFICER)
        assert search_receipts(ReceiptQuery(reference=PARKING_NOTICE))[0] == []
    page = client_for(stranger, council_b).get("/receipts/", {"reference": PARKING_NOTICE})
    assert "No receipts match." in page.content.decode()


def test_reversing_a_split_receipt_corrects_each_line_under_its_reference(
    council_a, cash, ruled, officer
):
    council_tax, parking = ruled
    receipt = record_receipt(
        channel=cash,
        amount_pence=13_550,
        received_on=DAY,
        allocations=[
            Allocation(council_tax, 10_000, COUNCIL_TAX_ACCOUNT),
            Allocation(parking, 3_550, PARKING_NOTICE),
        ],
        idempotency_key="counter:split",
        acting_user=officer,
        payer_reference=COUNCIL_TAX_ACCOUNT,
    ).receipt
    target = revenues(parking)
    export_lines(council_a, target, officer)

    reverse_receipt(council=council_a, receipt=receipt, reason="cheque bounced", acting_user=None)

    assert export_lines(council_a, target, officer).splitlines()[1:2] == [
        f"{receipt.number},{PARKING_NOTICE},PARK,reversal,-35.50"
    ]
    assert receipt_allocation_lines(receipt) == {}


def test_a_transfer_moves_a_line_with_its_reference_and_checks_it_against_the_new_fund(
    council_a, cash, ruled, officer
):
    council_tax, parking = ruled
    fines = FundFactory(code="FINE", name="Other fines")
    receipt = record_receipt(
        channel=cash,
        amount_pence=13_550,
        received_on=DAY,
        allocations=[
            Allocation(council_tax, 10_000, COUNCIL_TAX_ACCOUNT),
            Allocation(parking, 3_550, PARKING_NOTICE),
        ],
        idempotency_key="counter:transfer",
        acting_user=officer,
        payer_reference=COUNCIL_TAX_ACCOUNT,
    ).receipt
    target = revenues(fines)
    journals = Journal.objects.count()

    with pytest.raises(ValidationError) as refused:
        transfer_between_funds(
            council=council_a, receipt=receipt, from_fund=parking, to_fund=council_tax,
            amount_pence=3_550, note="wrong fund", acting_user=officer,
        )  # fmt: skip
    assert refused.value.messages == [
        'The reference for CTAX is not valid: character 1 must be a digit (it is "P")'
    ]
    assert Journal.objects.count() == journals

    client = client_for(officer, council_a)
    moved = client.post(
        f"/receipts/{receipt.number}/transfer/",
        {"from_fund": str(parking.pk), "to_fund": str(fines.pk), "amount": "35.50",
         "note": "Wrong fund"},
    )  # fmt: skip
    assert moved.status_code == 302
    assert receipt_allocation_lines(receipt) == {
        HeldLine(council_tax.pk, COUNCIL_TAX_ACCOUNT): 10_000,
        HeldLine(fines.pk, PARKING_NOTICE): 3_550,
    }
    assert export_lines(council_a, target, officer).splitlines()[1:2] == [
        f"{receipt.number},{PARKING_NOTICE},FINE,transfer,35.50"
    ]


def test_a_fund_holding_two_references_asks_which_line_to_move_or_refund(council_a, cash, officer):
    fines = FundFactory(code="FINE", name="Other fines")
    other = FundFactory(code="MISC", name="Miscellaneous")
    receipt = record_receipt(
        channel=cash,
        amount_pence=3_000,
        received_on=DAY,
        allocations=[Allocation(fines, 1_000, "F-1"), Allocation(fines, 2_000, "F-2")],
        idempotency_key="counter:two",
        acting_user=officer,
        payer_reference="F-1",
    ).receipt

    with pytest.raises(ValidationError) as unclear:
        transfer_between_funds(
            council=council_a, receipt=receipt, from_fund=fines, to_fund=other,
            amount_pence=500, note="wrong fund", acting_user=officer,
        )  # fmt: skip
    assert unclear.value.messages == [
        f"FINE holds {receipt.number}'s money for more than one reference: say which."
    ]
    with pytest.raises(ValidationError) as too_much:
        raise_refund(
            council=council_a, receipt=receipt, fund=fines, reference="F-1",
            amount_pence=1_500, reason="Overpaid", acting_user=officer,
        )  # fmt: skip
    assert too_much.value.messages == [
        f"At most £10.00 of {receipt.number} can be refunded from FINE for reference F-1."
    ]
    assert not Refund.objects.exists()

    client = client_for(officer, council_a)
    form = client.get(f"/receipts/{receipt.number}/refund/").content.decode()
    assert f'value="{fines.pk}|F-2"' in form
    client.post(
        f"/receipts/{receipt.number}/refund/",
        {"source": f"{fines.pk}|F-2", "amount": "20.00", "reason": "Overpaid"},
    )
    assert Refund.objects.get().reference == "F-2"
    moved = client.post(
        f"/receipts/{receipt.number}/transfer/",
        {"from_fund": f"{fines.pk}|F-1", "to_fund": str(other.pk), "amount": "10.00",
         "note": "Wrong fund"},
    )  # fmt: skip
    assert moved.status_code == 302
    assert receipt_allocation_lines(receipt) == {
        HeldLine(fines.pk, "F-2"): 2_000,
        HeldLine(other.pk, "F-1"): 1_000,
    }


def test_a_suspense_split_gives_each_fund_its_own_reference_checked_by_its_rule(
    council_a, cash, ruled, officer
):
    council_tax, parking = ruled
    receipt = record_receipt(
        channel=cash,
        amount_pence=13_550,
        received_on=DAY,
        allocations=[Allocation(None, 13_550)],
        idempotency_key="file:abc:1",
        acting_user=None,
        payer_reference="BGC J BLOGGS",
    ).receipt
    client = client_for(officer, council_a)
    data = {
        "form-TOTAL_FORMS": "3",
        "form-INITIAL_FORMS": "0",
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "5",
        "form-0-fund": str(council_tax.pk),
        "form-0-reference": COUNCIL_TAX_ACCOUNT,
        "form-0-amount": "100.00",
        "form-1-fund": str(parking.pk),
        "form-1-reference": PARKING_NOTICE,
        "form-1-amount": "35.50",
        "note": "Phoned the payer",
    }

    done = client.post(f"/suspense/{receipt.number}/", data)

    assert done.status_code == 302
    assert fund_lines(receipt) == [
        ("CTAX", COUNCIL_TAX_ACCOUNT, 10_000),
        ("PARK", PARKING_NOTICE, 3_550),
    ]
    assert receipt_allocation_lines(receipt) == {
        HeldLine(council_tax.pk, COUNCIL_TAX_ACCOUNT): 10_000,
        HeldLine(parking.pk, PARKING_NOTICE): 3_550,
    }
    placed = Posting.objects.filter(receipt=receipt, account__kind="fund")
    assert {p.reference_rule for p in placed} == {
        council_tax.reference_rule,
        parking.reference_rule,
    }
    assert search_receipts(ReceiptQuery(reference=PARKING_NOTICE))[0] == [receipt]


def test_a_wrong_reference_on_the_second_line_of_a_suspense_split_is_refused_and_nothing_moves(
    council_a, cash, ruled, officer
):
    council_tax, parking = ruled
    receipt = record_receipt(
        channel=cash,
        amount_pence=13_550,
        received_on=DAY,
        allocations=[Allocation(None, 13_550)],
        idempotency_key="file:abc:2",
        acting_user=None,
        payer_reference="BGC J BLOGGS",
    ).receipt
    journals = Journal.objects.count()

    with pytest.raises(ValidationError) as refused:
        allocate_from_suspense(
            council=council_a,
            receipt=receipt,
            allocations=[
                Allocation(council_tax, 10_000, COUNCIL_TAX_ACCOUNT),
                Allocation(parking, 3_550, COUNCIL_TAX_ACCOUNT),
            ],
            note="Phoned the payer",
            acting_user=officer,
        )

    assert refused.value.messages == [
        "The reference for PARK is not valid: is not in the expected format"
    ]
    assert Journal.objects.count() == journals
    assert receipt_allocation_lines(receipt) == {HeldLine(None, "BGC J BLOGGS"): 13_550}

    # The same through the page: the message is shown, and the lines typed are kept.
    page = (
        client_for(officer, council_a)
        .post(
            f"/suspense/{receipt.number}/",
            {
                "form-TOTAL_FORMS": "3",
                "form-INITIAL_FORMS": "0",
                "form-MIN_NUM_FORMS": "0",
                "form-MAX_NUM_FORMS": "5",
                "form-0-fund": str(council_tax.pk),
                "form-0-reference": COUNCIL_TAX_ACCOUNT,
                "form-0-amount": "100.00",
                "form-1-fund": str(parking.pk),
                "form-1-reference": "PN12",
                "form-1-amount": "35.50",
                "note": "Phoned the payer",
            },
        )
        .content.decode()
    )
    assert "The reference for PARK is not valid: is not in the expected format" in page
    assert 'value="PN12"' in page
    assert Journal.objects.count() == journals


def test_a_suspense_item_without_hints_says_so_rather_than_none(council_a, cash, ruled, officer):
    receipt = record_receipt(
        channel=cash,
        amount_pence=1_000,
        received_on=DAY,
        allocations=[Allocation(None, 1_000)],
        idempotency_key="file:abc:3",
        acting_user=None,
        payer_reference="NOTHING-LIKE-IT",
    ).receipt
    page = client_for(officer, council_a).get("/suspense/").content.decode()
    row = page[page.index(receipt.number) :]
    row = row[: row.index("</tr>")]
    assert "No suggestions" in row
    assert "None" not in row


def test_reversing_an_import_takes_back_a_split_line_under_its_own_reference(
    council_a, ruled, officer
):
    from income.actions.imports import reverse_import
    from income.formats import allpay
    from tests.income.test_import_pipeline import imported

    council_tax, parking = ruled
    content = allpay.write_line(
        reference="NOMATCH", amount_pence=13_550, letter="P", date=DAY, narrative=""
    )
    body = [content, *allpay.write_trailer(total_pence=13_550, count=1)]
    batch = imported(council_a, ("\r\n".join(body) + "\r\n").encode("latin-1"), user=officer)
    receipt = Receipt.objects.get(import_batch=batch)
    allocate_from_suspense(
        council=council_a,
        receipt=receipt,
        allocations=[
            Allocation(council_tax, 10_000, COUNCIL_TAX_ACCOUNT),
            Allocation(parking, 3_550, PARKING_NOTICE),
        ],
        note="Phoned the payer",
        acting_user=officer,
    )

    journal = reverse_import(council=council_a, batch=batch, reason="sent twice", acting_user=None)

    taken_back = sorted(
        (p.account.fund.code, p.effective_reference, p.amount_pence)
        for p in journal.postings.filter(account__kind="fund").select_related(
            "account__fund", "receipt"
        )
    )
    assert taken_back == [("CTAX", COUNCIL_TAX_ACCOUNT, 10_000), ("PARK", PARKING_NOTICE, 3_550)]
    assert receipt_allocation_lines(receipt) == {}


def test_a_suspense_split_line_of_no_or_negative_money_is_refused(council_a, cash, ruled, officer):
    council_tax, parking = ruled
    receipt = record_receipt(
        channel=cash,
        amount_pence=13_550,
        received_on=DAY,
        allocations=[Allocation(None, 13_550)],
        idempotency_key="file:abc:4",
        acting_user=None,
        payer_reference="BGC J BLOGGS",
    ).receipt
    journals = Journal.objects.count()
    with pytest.raises(ValidationError) as refused:
        allocate_from_suspense(
            council=council_a,
            receipt=receipt,
            allocations=[
                Allocation(council_tax, 15_000, COUNCIL_TAX_ACCOUNT),
                Allocation(parking, -1_450, PARKING_NOTICE),
            ],
            note="Phoned the payer",
            acting_user=officer,
        )
    assert refused.value.messages == ["Each allocation must be a positive whole number of pence."]
    assert Journal.objects.count() == journals
    assert receipt_allocation_lines(receipt) == {HeldLine(None, "BGC J BLOGGS"): 13_550}
