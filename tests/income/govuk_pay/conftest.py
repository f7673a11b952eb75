"""GOV.UK Pay fixtures: the stand-in server (real sockets), spec validation of every exchange
our code has with it, and councils connected to it."""

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.test import override_settings
from django_tenants.utils import schema_context

from income.actions.govuk_pay.connections import save_connection
from income.actions.govuk_pay.webhooks import forget_scheduled_drains
from income.defaults import seed_income_defaults
from income.govuk_pay.connections import EXCHANGE_OBSERVERS, forget_webhook_secrets
from income.models import Channel, GovukPayConnection, VatCode
from tenants.models import CouncilRole
from tests.conftest import make_member
from tests.factories import FundFactory
from tests.fixtures.govuk_pay import SpecRecorder
from tests.standins.govuk_pay_server import StandinGovukPay


@pytest.fixture(scope="session")
def standin(standin_port):
    retries = (0.05, 0.1, 0.2, 0.5, 1.0)
    with StandinGovukPay(port=standin_port, webhook_retry_delays=retries) as server:
        server.stall_seconds = 8.0  # far past the client's timeout below
        with allowed_standin(server.url):
            yield server


@contextmanager
def allowed_standin(url: str) -> Iterator[None]:
    """Allow the stand-in as a GOV.UK Pay address, as the demo's operator does."""
    from django.conf import settings

    with override_settings(GOVUK_PAY_STANDIN_URLS=[*settings.GOVUK_PAY_STANDIN_URLS, url]):
        yield


@pytest.fixture(autouse=True)
def spec():
    """Every request our code sends GOV.UK Pay, and every answer, checked against the spec."""
    recorder = SpecRecorder()
    EXCHANGE_OBSERVERS["request"].append(recorder.on_request)
    EXCHANGE_OBSERVERS["response"].append(recorder.on_response)
    forget_webhook_secrets()
    forget_scheduled_drains()
    try:
        yield recorder
    finally:
        EXCHANGE_OBSERVERS["request"].remove(recorder.on_request)
        EXCHANGE_OBSERVERS["response"].remove(recorder.on_response)
    assert not recorder.failures, "\n".join(recorder.failures)


@pytest.fixture(autouse=True)
def _quick_retries(settings):
    settings.GOVUK_PAY_TIMEOUT_SECONDS = 2.0
    settings.GOVUK_PAY_RETRIES = 1
    settings.GOVUK_PAY_BACKOFF_SECONDS = 0.01


def connect(
    council, standin, *, webhook_url: str = "", admin=None, payment_provider: str = "sandbox"
) -> tuple[str, str]:
    """Give the council (whose schema is current) a GOV.UK Pay service on the stand-in
    (`payment_provider="stripe"`: one that reports PSP fees and settled dates)."""
    api_key = f"api_test_{secrets.token_hex(12)}"
    webhook_secret = f"webhook_{secrets.token_hex(12)}"
    standin.add_service(
        api_key,
        webhook_url=webhook_url,
        webhook_secret=webhook_secret,
        payment_provider=payment_provider,
    )
    admin = admin or make_member(council, CouncilRole.ADMIN)
    save_connection(
        council=council,
        acting_user=admin,
        api_key=api_key,
        webhook_secret=webhook_secret,
        base_url=standin.url,
    )
    return api_key, webhook_secret


def public_funds():
    vat = VatCode.objects.get(code="N0")
    card = Channel.objects.get(code="CARD")
    council_tax = FundFactory(
        code="CTAX", name="Council Tax", is_public=True, ledger_code="L1001", vat_code=vat
    )
    parking = FundFactory(
        code="PARK", name="Parking Fines", is_public=True, ledger_code="L2002", vat_code=vat
    )
    for fund in (council_tax, parking):
        fund.channels.add(card)
    return council_tax, parking


@pytest.fixture
def admin(council_a):
    return make_member(council_a, CouncilRole.ADMIN)


def _connected(ledger, standin, admin, payment_provider: str) -> dict:
    api_key, webhook_secret = connect(
        ledger, standin, admin=admin, payment_provider=payment_provider
    )
    council_tax, parking = public_funds()
    return {
        "council": ledger,
        "api_key": api_key,
        "webhook_secret": webhook_secret,
        "connection": GovukPayConnection.objects.get(fund=None),
        "council_tax": council_tax,
        "parking": parking,
    }


@pytest.fixture
def paying_council(ledger, standin, admin):
    """Council A, connected to the stand-in, with two funds open to the public."""
    return _connected(ledger, standin, admin, "sandbox")


@pytest.fixture
def stripe_council(ledger, standin, admin):
    """Council A, connected to a Stripe-backed GOV.UK Pay service (fees, payouts by day)."""
    return _connected(ledger, standin, admin, "stripe")


@pytest.fixture
def other_council(council_b, standin, db):
    """Council B, connected to its own GOV.UK Pay service on the stand-in."""
    with schema_context(council_b.schema_name):
        seed_income_defaults()
        api_key, webhook_secret = connect(council_b, standin)
        council_tax, _parking = public_funds()
    return {
        "council": council_b,
        "api_key": api_key,
        "webhook_secret": webhook_secret,
        "council_tax": council_tax,
    }


def take_card_payment(council, items, standin, *, card: str = "4444333322221111"):
    """A citizen's payment, paid at the stand-in and applied (as the return visit does)."""
    from income.actions.govuk_pay.payments import refresh_payment, start_payment
    from income.models import PaymentOrigin

    payment = start_payment(
        council=council,
        items=items,
        origin=PaymentOrigin.PORTAL,
        return_url=lambda token: f"https://pay.example/pay/return/{token}/",
        acting_user=None,
    )
    standin.complete(payment.payment_id, card_number=card)
    refresh_payment(payment=payment)
    payment.refresh_from_db()
    return payment


def send_refund(council: dict, receipt, amount: int, officer, manager):
    """A refund raised by an officer, approved by a manager and sent to GOV.UK Pay."""
    from income.actions.govuk_pay.refunds import send_card_refund
    from income.actions.refunds import approve_refund, raise_refund
    from income.models import GovukPayRefund

    raised = raise_refund(
        council=council["council"], receipt=receipt, fund=council["council_tax"],
        amount_pence=amount, reason="Paid twice", acting_user=officer,
    )  # fmt: skip
    approve_refund(council=council["council"], refund=raised, acting_user=manager)
    card_refund = GovukPayRefund.objects.get(refund=raised)
    assert send_card_refund(card_refund_pk=card_refund.pk) == "success"
    return card_refund
