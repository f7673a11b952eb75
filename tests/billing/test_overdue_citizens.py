"""A council suspended for not paying its invoices still records the money its citizens have
paid (GOV.UK Pay's webhooks) and its portal still answers with its refusal page: suspension
never hurts citizens."""

import pytest
from django.utils import timezone

from billing.actions.overdue import send_overdue_reminders, suspension_worklist
from billing.models import BillingAccount, Invoice
from income.actions.govuk_pay.payments import BasketItem
from income.actions.govuk_pay.webhooks import apply_webhook_message
from income.defaults import seed_income_defaults
from income.govuk_pay.signature import sign
from income.models import GovukPayPayment, GovukPayWebhookMessage, WebhookOutcome
from tenants.actions.lifecycle import suspend_council
from tenants.council_directory import council_directory
from tenants.models import CouncilRole, PlatformRole
from tests.billing.test_overdue import due_days_ago
from tests.conftest import host_client, make_member
from tests.factories import UserFactory
from tests.income.govuk_pay.conftest import allowed_standin, connect, public_funds
from tests.income.govuk_pay.test_govuk_pay_webhooks import pay
from tests.standins.govuk_pay_server import StandinGovukPay

pytestmark = pytest.mark.django_db


@pytest.fixture
def standin():
    """A GOV.UK Pay stand-in of this test's own (the session's belongs to income's tests)."""
    with StandinGovukPay(webhook_retry_delays=(0.05,)) as server, allowed_standin(server.url):
        yield server


@pytest.fixture
def paying_council(in_council_a, standin):
    seed_income_defaults()
    admin = make_member(in_council_a, CouncilRole.ADMIN)
    api_key, webhook_secret = connect(in_council_a, standin, admin=admin)
    council_tax, _parking = public_funds()
    return {
        "council": in_council_a,
        "api_key": api_key,
        "webhook_secret": webhook_secret,
        "council_tax": council_tax,
    }


def test_a_council_suspended_for_non_payment_still_takes_citizens_money(paying_council, standin):
    council = paying_council["council"]
    account = BillingAccount.objects.create(council=council, contact_email="ap@north.example")
    Invoice.objects.create(
        account=account, stripe_id="in_late", number="CF-LATE", status="open", overdue=True,
        amount_due_pence=90_000, due_date=due_days_ago(61),
    )  # fmt: skip
    send_overdue_reminders(council, today=timezone.localdate())
    [row] = suspension_worklist()
    assert row.consider_suspending
    # A citizen paid before the suspension; GOV.UK Pay tells us after it.
    payment = pay(council, [BasketItem(paying_council["council_tax"], "CT1", 5_000)], standin)
    body = standin.webhook_body(paying_council["api_key"], payment.payment_id,
                                "card_payment_succeeded")  # fmt: skip
    operator = UserFactory(platform_role=PlatformRole.OPERATOR)
    suspend_council(council=council, reason="Invoice CF-LATE unpaid", acting_user=operator)
    council_directory.forget()

    answer = host_client(council).post(
        "/govuk-pay/webhook/",
        data=body,
        content_type="application/json",
        HTTP_PAY_SIGNATURE=sign(body, paying_council["webhook_secret"]),
    )
    assert answer.status_code == 200
    [message] = GovukPayWebhookMessage.objects.filter(outcome=WebhookOutcome.PENDING)
    assert apply_webhook_message(message_pk=message.pk) == WebhookOutcome.APPLIED
    assert GovukPayPayment.objects.get(pk=payment.pk).receipt.amount_pence == 5_000

    portal = host_client(council).get("/pay/")
    assert portal.status_code == 503
    assert "Online payments are not available" in portal.content.decode()
