"""Part 2: councils as Stripe customers, and the council admin's Billing page."""

import pytest
from django.core.exceptions import ValidationError

from billing.actions.customers import create_customer, update_billing_details
from billing.models import BillingAccount, Invoice
from tenants.audit.models import AuditEvent
from tenants.models import CouncilRole
from tests.conftest import host_client, make_member, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def billed_a(price_book, council_a):
    BillingAccount.objects.create(
        council=council_a, contact_email="finance@north.example", po_number="PO-1234"
    )
    return create_customer(council_id=council_a.pk)


def test_a_council_becomes_a_customer_with_a_send_invoice_subscription(billed_a, stripe_standin):
    [customer] = stripe_standin.of_type("customer")
    assert customer["id"] == billed_a.stripe_customer_id
    assert customer["email"] == "finance@north.example"
    assert customer["invoice_settings"]["custom_fields"] == [
        {"name": "PO number", "value": "PO-1234"}
    ]
    assert customer["metadata"] == {"council_schema": billed_a.council.schema_name}
    [subscription] = stripe_standin.of_type("subscription")
    assert subscription["id"] == billed_a.stripe_subscription_id
    assert (subscription["collection_method"], subscription["days_until_due"]) == (
        "send_invoice",
        30,
    )
    # The smallest band (population 0), the transaction price and the storage price, with VAT.
    amounts = sorted(item["price"]["unit_amount"] for item in subscription["items"]["data"])
    assert amounts == [2, 10, 50_000]
    assert len(subscription["default_tax_rates"]) == 1


def test_creating_again_makes_no_second_customer(billed_a, stripe_standin, council_a):
    again = create_customer(council_id=council_a.pk)
    assert again.stripe_customer_id == billed_a.stripe_customer_id
    assert len(stripe_standin.of_type("customer")) == 1
    assert len(stripe_standin.of_type("subscription")) == 1


def test_stripe_failing_twice_is_retried_into_one_customer(price_book, stripe_standin, council_a):
    """The library retries a 500 with the same idempotency key: one customer, not three."""
    BillingAccount.objects.create(council=council_a)
    stripe_standin.fail_next(500, 500)
    account = create_customer(council_id=council_a.pk)
    assert account.stripe_customer_id
    assert len(stripe_standin.of_type("customer")) == 1


def test_without_the_price_book_in_stripe_no_subscription_is_made(stripe_standin, council_a):
    with pytest.raises(ValidationError) as refused:
        create_customer(council_id=council_a.pk)
    assert refused.value.messages == ["The price book is not in Stripe yet: run sync_price_book"]
    assert not stripe_standin.of_type("subscription")


def test_admin_edits_po_number_audited_and_sent_to_stripe(billed_a, stripe_standin, council_a):
    admin = make_member(council_a, CouncilRole.ADMIN)
    client = sign_in(host_client(council_a), admin)
    answer = client.post(
        "/billing/",
        {"contact_name": "Pat", "contact_email": "pat@north.example", "po_number": "PO-9"},
    )
    assert answer.status_code == 302
    billed_a.refresh_from_db()
    assert (billed_a.po_number, billed_a.contact_email) == ("PO-9", "pat@north.example")
    [customer] = stripe_standin.of_type("customer")
    assert customer["invoice_settings"]["custom_fields"] == [{"name": "PO number", "value": "PO-9"}]
    from django_tenants.utils import schema_context

    with schema_context(council_a.schema_name):
        event = AuditEvent.objects.get(action="billing.details_changed")
    assert (event.before["po_number"], event.after["po_number"]) == ("PO-1234", "PO-9")


def test_a_po_number_too_long_is_refused(billed_a):
    with pytest.raises(ValidationError) as refused:
        update_billing_details(
            council=billed_a.council,
            contact_name="",
            contact_email="",
            po_number="X" * 141,
            acting_user=None,
        )
    assert refused.value.messages == ["A purchase-order number can be at most 140 characters"]


def test_billing_page_lists_only_the_councils_own_invoices(billed_a, council_a, council_b):
    Invoice.objects.create(
        account=billed_a,
        stripe_id="in_north",
        number="CF-NORTH-1",
        status="open",
        amount_due_pence=60_000,
        hosted_invoice_url="https://invoice.stripe.com/i/in_north",
        invoice_pdf="https://pay.stripe.com/invoice/in_north/pdf",
    )
    admin_a = sign_in(host_client(council_a), make_member(council_a, CouncilRole.ADMIN))
    page = admin_a.get("/billing/").content.decode()
    assert "CF-NORTH-1" in page and "£600.00" in page
    assert "https://pay.stripe.com/invoice/in_north/pdf" in page
    admin_b = sign_in(host_client(council_b), make_member(council_b, CouncilRole.ADMIN))
    other = admin_b.get("/billing/").content.decode()
    assert "CF-NORTH-1" not in other and "PO-1234" not in other
    assert "No invoices yet." in other


def test_only_admins_see_the_billing_page(billed_a, council_a):
    officer = sign_in(host_client(council_a), make_member(council_a, CouncilRole.FINANCE_MANAGER))
    assert officer.get("/billing/").status_code == 403


def test_operator_sees_every_councils_billing_state(billed_a):
    from tenants.models import PlatformRole
    from tests.factories import UserFactory

    operator = sign_in(host_client(None), UserFactory(platform_role=PlatformRole.OPERATOR))
    page = operator.get("/console/billing/").content.decode()
    assert billed_a.council.name in page
    assert billed_a.stripe_customer_id in page
    assert "active" in page


def test_operator_sets_a_population_audited_and_the_band_follows(price_book, council_a):
    from tenants.models import PlatformRole
    from tests.factories import UserFactory

    account = BillingAccount.objects.create(council=council_a)
    operator = sign_in(host_client(None), UserFactory(platform_role=PlatformRole.OPERATOR))
    answer = operator.post(
        f"/console/billing/accounts/{account.pk}/population/", {"population": "200000"}
    )
    assert answer.status_code == 302
    account.refresh_from_db()
    assert account.population == 200_000
    assert AuditEvent.objects.get(action="billing.population_set").after == {"population": 200_000}
    billed = create_customer(council_id=council_a.pk)
    assert billed.stripe_subscription_id
    support = sign_in(host_client(None), UserFactory(platform_role=PlatformRole.SUPPORT))
    refused = support.post(
        f"/console/billing/accounts/{account.pk}/population/", {"population": "1"}
    )
    assert refused.status_code == 403


def test_the_band_is_the_highest_the_population_reaches(price_book, council_a, stripe_standin):
    BillingAccount.objects.create(council=council_a, population=150_000)
    create_customer(council_id=council_a.pk)
    [subscription] = stripe_standin.of_type("subscription")
    amounts = sorted(item["price"]["unit_amount"] for item in subscription["items"]["data"])
    assert amounts == [2, 10, 90_000]
