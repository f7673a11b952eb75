"""A portal basket of two funds, paid through the GOV.UK Pay stand-in, keeps each item's
reference on its line of the card receipt: exported, refunded and found under it; and when
the money lands in suspense, each item waits there under its own reference."""

import pytest

from income.actions.exports import run_export
from income.actions.govuk_pay.payments import BasketItem
from income.actions.refunds import approve_refund
from income.balances import HeldLine, receipt_allocation_lines
from income.exports.layout import parse_fields
from income.models import ExportTarget, GovukPayRefund, Posting, ReferenceRule, Refund
from income.receipt_search import ReceiptQuery, search_receipts
from tenants.models import CouncilRole
from tests.conftest import host_client, make_member
from tests.exported import export_text
from tests.factories import PASSWORD
from tests.income.govuk_pay.conftest import take_card_payment

COUNCIL_TAX_ACCOUNT = "50000009"
PARKING_NOTICE = "PN123456"


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def ruled(paying_council):
    council_tax, parking = paying_council["council_tax"], paying_council["parking"]
    council_tax.reference_rule = ReferenceRule.objects.create(
        name="Council Tax account", input_mask="########", check_digit_method="luhn"
    )
    council_tax.save()
    parking.reference_rule = ReferenceRule.objects.create(name="Parking notice", pattern=r"PN\d{6}")
    parking.save()
    return council_tax, parking


def signed_in(council, role):
    member = make_member(council, role)
    client = host_client(council)
    client.login(email=member.email, password=PASSWORD)
    return member, client


def test_a_basket_of_two_funds_keeps_each_items_reference(paying_council, ruled, standin):
    council = paying_council["council"]
    council_tax, parking = ruled
    target = ExportTarget.objects.create(
        name="Revenues", fields=parse_fields("receipt_number\nreference\nfund_code\namount")
    )
    target.funds.set([council_tax, parking])

    payment = take_card_payment(
        council,
        [
            BasketItem(council_tax, COUNCIL_TAX_ACCOUNT, 10_000),
            BasketItem(parking, PARKING_NOTICE, 3_550),
        ],
        standin,
    )

    receipt = payment.receipt
    assert receipt.payer_reference == COUNCIL_TAX_ACCOUNT
    assert receipt_allocation_lines(receipt) == {
        HeldLine(council_tax.pk, COUNCIL_TAX_ACCOUNT): 10_000,
        HeldLine(parking.pk, PARKING_NOTICE): 3_550,
    }
    park = Posting.objects.get(receipt=receipt, account__fund=parking)
    assert (park.reference, park.reference_rule) == (PARKING_NOTICE, parking.reference_rule)
    officer, officer_client = signed_in(council, CouncilRole.INCOME_OFFICER)
    text = export_text(run_export(council=council, target=target, acting_user=officer))
    assert text.splitlines()[1:3] == [
        f"{receipt.number},{COUNCIL_TAX_ACCOUNT},CTAX,100.00",
        f"{receipt.number},{PARKING_NOTICE},PARK,35.50",
    ]
    assert search_receipts(ReceiptQuery(reference=PARKING_NOTICE))[0] == [receipt]

    officer_client.post(
        f"/receipts/{receipt.number}/refund/",
        {"source": str(parking.pk), "amount": "5.00", "reason": "Paid too much"},
    )
    refund = Refund.objects.get()
    assert (refund.fund, refund.reference, refund.route) == (parking, PARKING_NOTICE, "card")
    manager, _ = signed_in(council, CouncilRole.FINANCE_MANAGER)
    approve_refund(council=council, refund=refund, acting_user=manager)
    assert GovukPayRefund.objects.get(refund=refund).amount_pence == 500
    assert receipt_allocation_lines(receipt)[HeldLine(parking.pk, PARKING_NOTICE)] == 3_050
    text = export_text(run_export(council=council, target=target, acting_user=officer))
    assert text.splitlines()[1] == f"{receipt.number},{PARKING_NOTICE},PARK,-5.00"


def test_a_basket_that_lands_in_suspense_waits_under_each_items_reference(
    paying_council, ruled, standin
):
    council = paying_council["council"]
    council_tax, parking = ruled
    items = [
        BasketItem(council_tax, COUNCIL_TAX_ACCOUNT, 10_000),
        BasketItem(parking, PARKING_NOTICE, 3_550),
    ]
    # Parking closes between the basket and the payment: the money goes to suspense.
    from income.actions.govuk_pay.payments import refresh_payment, start_payment
    from income.models import PaymentOrigin

    payment = start_payment(
        council=council, items=items, origin=PaymentOrigin.PORTAL,
        return_url=lambda token: f"https://pay.example/pay/return/{token}/", acting_user=None,
    )  # fmt: skip
    parking.is_active = False
    parking.save()
    standin.complete(payment.payment_id, card_number="4444333322221111")
    refresh_payment(payment=payment)
    payment.refresh_from_db()
    receipt = payment.receipt
    assert receipt_allocation_lines(receipt) == {
        HeldLine(None, COUNCIL_TAX_ACCOUNT): 10_000,
        HeldLine(None, PARKING_NOTICE): 3_550,
    }
    parking.is_active = True
    parking.save()

    _, client = signed_in(council, CouncilRole.INCOME_OFFICER)
    worklist = client.get("/suspense/").content.decode()
    assert f"<code>{COUNCIL_TAX_ACCOUNT}</code>, <code>{PARKING_NOTICE}</code>" in worklist
    form = client.get(f"/suspense/{receipt.number}/").content.decode()
    assert f'value="{PARKING_NOTICE}"' in form and 'value="35.50"' in form

    done = client.post(
        f"/suspense/{receipt.number}/",
        {
            "form-TOTAL_FORMS": "5",
            "form-INITIAL_FORMS": "2",
            "form-MIN_NUM_FORMS": "0",
            "form-MAX_NUM_FORMS": "5",
            "form-0-fund": str(council_tax.pk),
            "form-0-reference": COUNCIL_TAX_ACCOUNT,
            "form-0-amount": "100.00",
            "form-1-fund": str(parking.pk),
            "form-1-reference": PARKING_NOTICE,
            "form-1-amount": "35.50",
            "note": "Parking is open again",
        },
    )
    assert done.status_code == 302
    assert receipt_allocation_lines(receipt) == {
        HeldLine(council_tax.pk, COUNCIL_TAX_ACCOUNT): 10_000,
        HeldLine(parking.pk, PARKING_NOTICE): 3_550,
    }
    # The suspense side emptied each reference it held: nothing is left under either.
    assert not [line for line in receipt_allocation_lines(receipt) if line.fund_id is None]
