"""Billing's fixtures: a Stripe stand-in on a loopback port, and settings pointing at it."""

import datetime

import pytest
from django.utils import timezone

from billing.actions.price_book import add_price_book_row, sync_price_book
from billing.models import PriceKind
from tests.standins.stripe_server import StandinStripe

WEBHOOK_SECRET = "whsec_current_test_secret"
OLD_WEBHOOK_SECRET = "whsec_rotated_out_secret"


@pytest.fixture
def stripe_standin(settings):
    with StandinStripe() as standin:
        settings.STRIPE_SECRET_KEY = "sk_test_counterfoil"
        settings.STRIPE_API_BASE = standin.url
        settings.STRIPE_WEBHOOK_SECRETS = [WEBHOOK_SECRET, OLD_WEBHOOK_SECRET]
        settings.STRIPE_MAX_NETWORK_RETRIES = 3
        yield standin


@pytest.fixture
def price_book(db, stripe_standin):
    """Two bands, a transaction price and a storage price, in Stripe."""
    today = timezone.localdate()
    rows = [
        add_price_book_row(
            kind=PriceKind.BAND, amount_pence=50_000, effective_from=today, acting_user=None
        ),
        add_price_book_row(
            kind=PriceKind.BAND,
            amount_pence=90_000,
            population_from=150_000,
            effective_from=today,
            acting_user=None,
        ),
        add_price_book_row(
            kind=PriceKind.TRANSACTION, amount_pence=2, effective_from=today, acting_user=None
        ),
        add_price_book_row(
            kind=PriceKind.STORAGE_GB,
            amount_pence=10,
            allowance_gb=5,
            effective_from=today,
            acting_user=None,
        ),
    ]
    sync_price_book()
    return rows


YESTERDAY = timezone.localdate() - datetime.timedelta(days=1)
