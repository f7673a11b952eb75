"""The demo's billing: price book, both councils billed, a month of usage, one paid and one
overdue invoice, a cost statement that adds up; and seeding again (or against a new, empty
stand-in, as each demo start meets) makes nothing twice."""

import pytest

from billing.cost_models import PlatformCost
from billing.cost_statement import council_statement, financial_year_of, statements_for
from billing.models import BillingAccount, Invoice, UsageRecord
from counterfoil.demo_billing import DEMO_COSTS, seed_billing
from counterfoil.demo_seed import seed_demo
from tests.billing.conftest import WEBHOOK_SECRET
from tests.standins.stripe_server import StandinStripe

pytestmark = pytest.mark.django_db


def test_the_demo_bills_both_councils_with_a_statement_that_adds_up(stripe_standin, settings):
    seed_demo()
    seed_billing(stripe_standin.url)
    accounts = BillingAccount.objects.select_related("council").order_by("council__slug")
    assert [a.council.slug for a in accounts] == ["eastmere", "northbrook"]
    assert all(a.stripe_subscription_id for a in accounts)
    assert len(stripe_standin.of_type("customer")) == 2
    assert len(stripe_standin.meter_events) >= 2 * 2 * 28  # a month of both meters, each
    statuses = {
        (i.account.council.slug, i.status, i.overdue)
        for i in Invoice.objects.select_related("account__council")
    }
    assert statuses == {("northbrook", "paid", False), ("eastmere", "open", True)}
    [month] = {cost.month for cost in PlatformCost.objects.all()}
    [statement] = statements_for([month])
    assert statement.total_pence == sum(DEMO_COSTS.values())
    assert statement.shares_total_pence == statement.total_pence
    northbrook = accounts.get(council__slug="northbrook").council
    shown = council_statement(northbrook, financial_year_of(month))
    assert shown.rows and shown.rows[0][1].invoiced_pence > 0

    # Seeding again changes nothing; against a new stand-in, the councils are billed anew.
    seed_billing(stripe_standin.url)
    assert Invoice.objects.count() == 2 and len(stripe_standin.of_type("customer")) == 2
    with StandinStripe() as fresh:
        settings.STRIPE_API_BASE = fresh.url
        settings.STRIPE_WEBHOOK_SECRETS = [WEBHOOK_SECRET]
        seed_billing(fresh.url)
        assert len(fresh.of_type("customer")) == 2
        assert Invoice.objects.count() == 2
        assert (
            not UsageRecord.objects.filter(sent_at__isnull=True, day__gte=month)
            .exclude(day__lt=fresh_window_start())
            .exists()
        )


def fresh_window_start():
    import datetime

    from django.utils import timezone

    return timezone.localdate() - datetime.timedelta(days=34)
