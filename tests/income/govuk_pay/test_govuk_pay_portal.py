"""The payment portal: a basket of items validated by each fund's rules, one GOV.UK Pay payment
for it (fund, ledger and VAT codes in its metadata, only a random token in the return URL), a
confirmation with the receipt number; a plain page when GOV.UK Pay is down, nothing recorded."""

import re

import httpx
import pytest

from income.models import (
    GovukPayPayment,
    Journal,
    PaymentStatus,
    Posting,
    Receipt,
    ReferenceRule,
)
from tenants.audit.models import AuditEvent
from tenants.council_directory import council_directory
from tenants.models.council import CouncilStatus
from tests.conftest import host_client


def add(client, fund, reference: str, amount: str):
    return client.post("/pay/", {"fund": fund.pk, "reference": reference, "amount": amount})


def pay_at_standin(next_url: str, card: str = "4444333322221111") -> str:
    """What the payer's browser does on GOV.UK Pay's card page; returns where it is sent."""
    with httpx.Client() as browser:
        assert browser.get(next_url).status_code == 200
        answer = browser.post(next_url, data={"card-number": card, "name": "Sam Payer"})
    assert answer.status_code == 303
    return answer.headers["location"]


@pytest.fixture
def citizen(paying_council):
    return host_client(paying_council["council"])


def test_a_citizen_pays_two_items_in_one_payment(paying_council, citizen, standin):
    council_tax, parking = paying_council["council_tax"], paying_council["parking"]
    start = citizen.get("/pay/")
    assert start.status_code == 200
    assert "Council Tax" in start.content.decode() and "Parking Fines" in start.content.decode()

    assert add(citizen, council_tax, "ct 1234", "100.00").status_code == 302
    assert add(citizen, parking, "PN9876", "25.50").status_code == 302
    basket = citizen.get("/pay/basket/").content.decode()
    assert "CT1234" in basket and "£125.50" in basket

    response = citizen.post("/pay/checkout/")
    assert response.status_code == 302
    next_url = response["Location"]
    assert next_url.startswith(standin.url + "/card/")

    payment = GovukPayPayment.objects.get()
    at_standin = standin.payment(payment.payment_id)
    assert at_standin["amount"] == 12_550
    assert at_standin["reference"] == payment.reference
    assert at_standin["metadata"] == {
        "fund_1": "CTAX",
        "ledger_code_1": "L1001",
        "vat_code_1": "N0",
        "fund_2": "PARK",
        "ledger_code_2": "L2002",
        "vat_code_2": "N0",
    }
    # The return URL carries a random token and nothing else: not our reference, not an id.
    return_url = at_standin["return_url"]
    assert re.fullmatch(r"http://north-test\.localhost/pay/return/[A-Za-z0-9_-]{40,}/", return_url)
    assert payment.reference not in return_url and payment.payment_id not in return_url

    back = pay_at_standin(next_url)
    confirmation = citizen.get(back.replace("http://north-test.localhost", ""))
    page = confirmation.content.decode()
    receipt = Receipt.objects.get()
    assert "Payment complete" in page and receipt.number in page
    assert receipt.amount_pence == 12_550 and receipt.channel.code == "CARD"
    held = {
        p.account.code: -p.amount_pence
        for p in Posting.objects.filter(receipt=receipt, amount_pence__lt=0)
    }
    assert held == {"FUND-CTAX": 10_000, "FUND-PARK": 2_550}
    # The basket is emptied once paid; coming back again shows the same receipt.
    assert citizen.get("/pay/basket/").status_code == 302
    assert (
        receipt.number
        in citizen.get(back.replace("http://north-test.localhost", "")).content.decode()
    )
    assert Receipt.objects.count() == 1


def test_a_reference_is_checked_by_the_funds_rule_with_a_helpful_message(paying_council, citizen):
    rule = ReferenceRule.objects.create(
        name="Eight digits", min_length=8, max_length=8, pattern=r"^\d{8}$"
    )
    council_tax = paying_council["council_tax"]
    council_tax.reference_rule = rule
    council_tax.save()
    page = add(citizen, council_tax, "12AB", "10.00")
    assert page.status_code == 200
    text = page.content.decode()
    assert "There is a problem" in text
    assert "Enter the reference exactly as it is on your Council Tax bill or notice" in text
    assert add(citizen, council_tax, "12345678", "10.00").status_code == 302


def test_empty_and_bad_amounts_are_refused(paying_council, citizen):
    council_tax = paying_council["council_tax"]
    text = add(citizen, council_tax, "CT1", "").content.decode()
    assert "Enter the amount you want to pay" in text
    text = add(citizen, council_tax, "CT1", "12.345").content.decode()
    assert "no fractions of a penny" in text
    text = citizen.post("/pay/", {"reference": "CT1", "amount": "1"}).content.decode()
    assert "Select what you want to pay for" in text


def test_only_funds_open_to_the_public_are_offered(paying_council, citizen):
    from tests.factories import FundFactory

    staff_only = FundFactory(code="SUND", name="Sundry Debtors", is_public=False)
    assert "Sundry Debtors" not in citizen.get("/pay/").content.decode()
    response = add(citizen, staff_only, "X1", "5.00")
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()


def test_a_basket_holds_at_most_four_items(paying_council, citizen):
    for n in range(4):
        assert add(citizen, paying_council["parking"], f"PN{n}", "1.00").status_code == 302
    text = add(citizen, paying_council["parking"], "PN5", "1.00").content.decode()
    assert "up to 4 things at once" in text


def test_an_item_can_be_removed(paying_council, citizen):
    add(citizen, paying_council["council_tax"], "CT1", "1.00")
    add(citizen, paying_council["parking"], "PN1", "2.00")
    citizen.post("/pay/basket/0/remove/")
    text = citizen.get("/pay/basket/").content.decode()
    assert "CT1" not in text and "PN1" in text and "£2.00" in text


@pytest.mark.parametrize("fault", [500, 429, "timeout"])
def test_gov_uk_pay_down_shows_a_plain_page_and_records_nothing(
    paying_council, citizen, standin, fault
):
    add(citizen, paying_council["council_tax"], "CT1", "10.00")
    standin.fail_next(2, fault)  # the first try and the one retry
    response = citizen.post("/pay/checkout/")
    assert response.status_code == 503
    assert "Sorry, you cannot pay at the moment" in response.content.decode()
    assert "You have not been charged" in response.content.decode()
    assert not Receipt.objects.exists() and not Journal.objects.exists()
    assert GovukPayPayment.objects.get().status == PaymentStatus.NOT_CREATED
    # The basket is kept; once GOV.UK Pay is back the payment goes ahead.
    retry = citizen.post("/pay/checkout/")
    assert retry.status_code == 302 and retry["Location"].startswith(standin.url)


def test_a_declined_card_takes_nothing_and_keeps_the_basket(paying_council, citizen, standin):
    add(citizen, paying_council["council_tax"], "CT1", "10.00")
    next_url = citizen.post("/pay/checkout/")["Location"]
    back = pay_at_standin(next_url, card="4000000000000002")
    text = citizen.get(back.replace("http://north-test.localhost", "")).content.decode()
    assert "Your payment was not taken" in text and "declined" in text
    assert not Receipt.objects.exists()
    assert citizen.get("/pay/basket/").status_code == 200


def test_an_unknown_return_token_is_not_found(paying_council, citizen):
    assert citizen.get("/pay/return/not-a-token/").status_code == 404


def test_the_portal_says_so_when_the_council_has_no_gov_uk_pay(ledger):
    response = host_client(ledger).get("/pay/")
    assert response.status_code == 503
    assert "Online payments are not available" in response.content.decode()


def test_starting_a_payment_is_audited(paying_council, citizen):
    add(citizen, paying_council["council_tax"], "CT1", "10.00")
    citizen.post("/pay/checkout/")
    event = AuditEvent.objects.get(action="govuk_pay.payment_started")
    assert event.after["amount_pence"] == 1000 and event.actor_id is None


def test_the_portal_speaks_welsh_where_the_council_offers_it(paying_council, citizen, standin):
    from income.models import GovukPayConnection

    # Not offered: the request for Welsh is ignored.
    page = citizen.get("/pay/?lang=cy").content.decode()
    assert 'lang="en"' in page and "Cymraeg" not in page

    GovukPayConnection.objects.update(welsh_enabled=True)
    page = citizen.get("/pay/?lang=cy").content.decode()
    assert '<html lang="cy"' in page
    assert "Am beth ydych chi eisiau talu?" in page and "Cyfeirnod" in page
    # The chrome every page shares is Welsh too: skip link, menu label and footer.
    assert "Neidio i&#x27;r prif gynnwys" in page or "Neidio i'r prif gynnwys" in page
    assert "rheoli incwm, a gynhelir gan Counterfoil" in page
    refused = citizen.post("/pay/", {"reference": "CT1", "amount": "1.00"}).content.decode()
    assert "Mae problem wedi codi" in refused and "Dewiswch am beth rydych eisiau talu" in refused

    add(citizen, paying_council["council_tax"], "CT1", "10.00")
    basket = citizen.get("/pay/basket/").content.decode()
    assert "Gwirio eich taliadau" in basket and 'value="cy" checked' in basket
    citizen.post("/pay/checkout/", {"language": "cy"})
    payment = GovukPayPayment.objects.get()
    assert payment.language == "cy" and standin.payment(payment.payment_id)["language"] == "cy"

    # And back to English.
    assert "What do you want to pay for?" in citizen.get("/pay/?lang=en").content.decode()


def test_a_fund_with_its_own_service_is_paid_there_and_not_mixed_with_others(
    paying_council, citizen, standin, admin
):
    import secrets

    from income.actions.govuk_pay.connections import save_connection

    housing_key = f"api_test_housing_{secrets.token_hex(8)}"
    standin.add_service(housing_key)
    parking = paying_council["parking"]
    save_connection(
        council=paying_council["council"], acting_user=admin, fund=parking,
        api_key=housing_key, base_url=standin.url,
    )  # fmt: skip
    add(citizen, paying_council["council_tax"], "CT1", "1.00")
    add(citizen, parking, "PN1", "2.00")
    mixed = citizen.post("/pay/checkout/")
    assert mixed.status_code == 400
    assert "different council bank accounts" in mixed.content.decode()
    assert not GovukPayPayment.objects.exists()

    citizen.post("/pay/basket/0/remove/")
    assert citizen.post("/pay/checkout/").status_code == 302
    payment = GovukPayPayment.objects.get()
    assert payment.connection.fund == parking
    assert payment.payment_id in standin.services[housing_key].payments


def test_a_wrong_check_digit_is_refused_without_giving_the_right_one_away(paying_council, citizen):
    rule = ReferenceRule.objects.create(
        name="Council Tax account", input_mask="5#######", check_digit_method="luhn"
    )
    council_tax = paying_council["council_tax"]
    council_tax.reference_rule = rule
    council_tax.save()
    text = add(citizen, council_tax, "50000001", "10.00").content.decode()  # right one: 9
    assert (
        "Enter the reference exactly as it is on your Council Tax bill or notice. "
        "This reference is not valid."
    ) in text
    assert "should be 9" not in text and "not 1" not in text
    assert add(citizen, council_tax, "5000 0009", "10.00").status_code == 302


def test_a_suspended_councils_portal_takes_no_payments(paying_council, citizen):
    add(citizen, paying_council["council_tax"], "CT1", "10.00")  # a basket from before
    council = paying_council["council"]
    council.status = CouncilStatus.SUSPENDED
    council.save(update_fields=["status"])
    council_directory.forget()

    page = citizen.get("/pay/")
    assert page.status_code == 503
    assert "Online payments are not available" in page.content.decode()
    refused = citizen.post("/pay/checkout/")
    assert refused.status_code == 403
    assert "is suspended" in refused.content.decode()
    assert not GovukPayPayment.objects.exists() and not Receipt.objects.exists()


def test_an_amount_too_large_for_any_payment_is_refused_not_an_error_page(paying_council, citizen):
    # Security finding 11: 99999999999999999.99 overflowed PostgreSQL's bigint (HTTP 500).
    response = add(citizen, paying_council["council_tax"], "CT1", "99999999999999999.99")

    assert response.status_code == 200
    assert "Enter an amount of no more than £9,999,999,999.99." in response.content.decode()
    assert not GovukPayPayment.objects.exists()
