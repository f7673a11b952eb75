"""Staff take card payments over the phone through GOV.UK Pay, checked as on the portal."""

import httpx

from income.models import GovukPayPayment, Receipt, ReferenceRule
from tenants.models import CouncilRole
from tests.conftest import host_client, make_member
from tests.factories import PASSWORD

PHONE = "/govuk-pay/phone/"


def staff(council, role=CouncilRole.INCOME_OFFICER):
    member = make_member(council, role)
    client = host_client(council)
    client.login(email=member.email, password=PASSWORD)
    return client, member


def test_an_officer_takes_a_phone_payment(paying_council, standin):
    council, fund = paying_council["council"], paying_council["council_tax"]
    client, officer = staff(council)
    response = client.post(
        PHONE, {"fund": fund.pk, "reference": "CT555", "amount": "80.00", "payer_name": "A Caller"}
    )
    assert response.status_code == 302
    payment = GovukPayPayment.objects.get()
    assert payment.origin == "phone" and payment.created_by_id == officer.pk
    at_standin = standin.payment(payment.payment_id)
    assert at_standin["moto"] is True and at_standin["reference"].startswith("TEL-")
    with httpx.Client() as browser:
        back = browser.post(response["Location"], data={"card-number": "4444333322221111"})
    page = client.get(back.headers["location"].replace(f"http://{council.slug}.localhost", ""))
    receipt = Receipt.objects.get()
    assert receipt.number in page.content.decode() and receipt.payer_name == "A Caller"


def test_the_reference_is_checked_the_same_way(paying_council):
    fund = paying_council["council_tax"]
    fund.reference_rule = ReferenceRule.objects.create(name="Digits", pattern=r"^\d+$")
    fund.save()
    client, _officer = staff(paying_council["council"])
    response = client.post(PHONE, {"fund": fund.pk, "reference": "ABC", "amount": "5.00"})
    assert response.status_code == 200
    assert "The reference for CTAX is not valid" in response.content.decode()
    assert not GovukPayPayment.objects.exists()


def test_gov_uk_pay_down_is_said_plainly(paying_council, standin):
    client, _officer = staff(paying_council["council"])
    standin.fail_next(2, 500)
    response = client.post(
        PHONE, {"fund": paying_council["council_tax"].pk, "reference": "C1", "amount": "5.00"}
    )
    assert "GOV.UK Pay is not answering" in response.content.decode()
    assert not Receipt.objects.exists()


def test_auditors_cannot_take_payments(paying_council):
    client, _auditor = staff(paying_council["council"], CouncilRole.AUDITOR)
    assert client.get(PHONE).status_code == 403
