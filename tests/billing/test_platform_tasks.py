"""Billing's platform tasks are sent from the platform host, with no council: they run in the
public schema (the app's default task base, CouncilTask, refuses that)."""

import pytest
from django.db import connection

from billing.models import BillingAccount
from billing.tasks import apply_stripe_event, close_account, create_customer
from tests.billing.test_webhooks import signed

pytestmark = pytest.mark.django_db


def test_platform_tasks_run_from_the_public_schema(price_book, stripe_standin, council_a):
    assert connection.schema_name == "public"
    BillingAccount.objects.create(council=council_a)
    create_customer.apply(args=[council_a.pk]).get()
    account = BillingAccount.objects.get(council=council_a)
    assert account.stripe_subscription_id

    event = stripe_standin.event(
        "invoice.finalized", stripe_standin.add_invoice(account.stripe_customer_id)
    )
    signed(event)
    assert apply_stripe_event.apply(args=[event["id"]]).get().endswith(" is open")
    assert close_account.apply(args=[council_a.pk]).get().startswith("in_")
