"""A citizen pays two items on a council's portal in a real browser, against the local GOV.UK
Pay stand-in (its card page, its redirect back, its signed webhooks to our real server), with
axe-core checking each of our pages."""

from collections.abc import Iterator

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from tenants.actions.councils import council_host
from tests.e2e.conftest import axe_violations, committed
from tests.standins.govuk_pay_server import StandinGovukPay
from tests.waiting import wait_for

pytestmark = pytest.mark.browser
SLUG = "portal-e2e"


@pytest.fixture(scope="module")
def standin(e2e_standin_port) -> Iterator[StandinGovukPay]:
    from tests.income.govuk_pay.conftest import allowed_standin

    with (
        StandinGovukPay(port=e2e_standin_port, webhook_retry_delays=(0.2, 0.5, 1.0)) as server,
        allowed_standin(server.url),
    ):
        yield server


@pytest.fixture
def portal_council(live_server_port, standin, django_db_blocker):
    from income.defaults import seed_income_defaults
    from tenants.actions.councils import create_council
    from tests.income.govuk_pay.conftest import connect, public_funds

    def build():
        council = create_council(name="Portal Test Council", slug=SLUG, acting_user=None)
        with schema_context(council.schema_name):
            seed_income_defaults()
            connect(
                council,
                standin,
                webhook_url=f"http://{council_host(SLUG)}:{live_server_port}/govuk-pay/webhook/",
            )
            public_funds()
        connection.set_schema_to_public()
        return council

    council = committed(django_db_blocker, build)
    yield council

    def drop():
        connection.set_schema_to_public()
        council.delete(force_drop=True)

    committed(django_db_blocker, drop)


def ledger_of(council):
    from income.models import GovukPayWebhookMessage, Posting, Receipt

    with schema_context(council.schema_name):
        receipt = Receipt.objects.get()
        held = {
            p.account.code: -p.amount_pence
            for p in Posting.objects.filter(receipt=receipt, amount_pence__lt=0)
        }
        messages = GovukPayWebhookMessage.objects.count()
    connection.set_schema_to_public()
    return receipt.number, receipt.amount_pence, held, messages


def test_a_citizen_pays_two_items_and_gets_a_receipt_number(
    page, live_server_port, portal_council, standin, django_db_blocker
):
    base = f"http://{council_host(SLUG)}:{live_server_port}"
    page.goto(f"{base}/pay/")
    assert page.locator("h1").inner_text() == "What do you want to pay for?"
    assert axe_violations(page) == []

    # A reference left out is refused with a message that says what to do.
    page.get_by_label("Council Tax").check()
    page.get_by_label("Amount").fill("120.00")
    page.get_by_role("button", name="Add to your payments").click()
    assert "Enter the reference from your bill or notice" in page.content()
    assert axe_violations(page) == []

    page.get_by_label("Reference").fill("CT12345")
    page.get_by_role("button", name="Add to your payments").click()
    page.wait_for_url("**/pay/basket/")
    page.get_by_role("link", name="Pay for something else as well").click()
    page.get_by_label("Parking Fines").check()
    page.get_by_label("Reference").fill("PN777")
    page.get_by_label("Amount").fill("35.00")
    page.get_by_role("button", name="Add to your payments").click()
    page.wait_for_url("**/pay/basket/")
    assert page.locator("#basket-total").inner_text() == "£155.00"
    assert axe_violations(page) == []

    page.get_by_role("button", name="Continue to payment").click()
    page.wait_for_url(f"{standin.url}/card/**")
    assert "£155.00" in page.content()
    page.get_by_label("Card number").fill("4444 3333 2222 1111")
    page.get_by_label("Name on card").fill("Sam Payer")
    page.get_by_role("button", name="Continue").click()

    page.wait_for_url(f"{base}/pay/return/**")
    assert page.locator("h1").inner_text() == "Payment complete"
    shown = page.locator("#receipt-number").inner_text()
    assert axe_violations(page) == []

    number, amount, held, _ = committed(django_db_blocker, lambda: ledger_of(portal_council))
    assert (shown, amount) == (number, 15_500)
    assert held == {"FUND-CTAX": 12_000, "FUND-PARK": 3_500}
    # GOV.UK Pay's signed webhooks reached the council's endpoint over real sockets too.
    wait_for(
        lambda: committed(django_db_blocker, lambda: ledger_of(portal_council))[3] >= 3,
        timeout=20,
    )
    assert {d.status for d in standin.deliveries} == {200}
