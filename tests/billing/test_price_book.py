"""Part 1: the price book, never rewritten backwards, put into Stripe idempotently."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone

from billing.actions.price_book import add_price_book_row, current_prices
from billing.models import PriceBookRow, PriceKind
from tenants.audit.models import AuditEvent
from tests.conftest import host_client, sign_in
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_adding_a_price_is_audited_and_a_change_is_a_new_row(price_book):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    add_price_book_row(
        kind=PriceKind.TRANSACTION, amount_pence=3, effective_from=tomorrow, acting_user=None
    )
    rows = PriceBookRow.objects.filter(kind=PriceKind.TRANSACTION).order_by("effective_from")
    assert [row.amount_pence for row in rows] == [2, 3]
    today_prices = {row.kind: row.amount_pence for row in current_prices()}
    assert today_prices[PriceKind.TRANSACTION] == 2
    tomorrow_prices = {row.kind: row.amount_pence for row in current_prices(tomorrow)}
    assert tomorrow_prices[PriceKind.TRANSACTION] == 3
    assert AuditEvent.objects.filter(action="billing.price_added").count() == 5


def test_a_price_backdated_or_repeated_is_refused(db):
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    with pytest.raises(ValidationError) as refused:
        add_price_book_row(
            kind=PriceKind.BAND, amount_pence=1, effective_from=yesterday, acting_user=None
        )
    assert refused.value.messages == ["A price cannot take effect before today"]
    today = timezone.localdate()
    add_price_book_row(kind=PriceKind.BAND, amount_pence=1, effective_from=today, acting_user=None)
    with pytest.raises(ValidationError) as again:
        add_price_book_row(
            kind=PriceKind.BAND, amount_pence=2, effective_from=today, acting_user=None
        )
    assert again.value.messages == ["There is already a price for this from that date"]


def test_sync_puts_prices_in_stripe_in_pence_gbp_with_lookup_keys_and_vat(
    price_book, stripe_standin
):
    prices = stripe_standin.of_type("price")
    assert len(prices) == 4
    assert {price["currency"] for price in prices} == {"gbp"}
    assert {price["lookup_key"] for price in prices} == {row.lookup_key for row in price_book}
    metered = [price for price in prices if price["recurring"]["usage_type"] == "metered"]
    assert len(metered) == 2 and all(price["recurring"]["meter"] for price in metered)
    assert {price["unit_amount"] for price in prices} == {50_000, 90_000, 2, 10}
    [rate] = stripe_standin.of_type("tax_rate")
    assert (rate["percentage"], rate["inclusive"], rate["country"]) == (20.0, False, "GB")
    assert all(row.stripe_price_id for row in PriceBookRow.objects.all())


def test_sync_run_again_makes_nothing_new(price_book, stripe_standin):
    before = {
        kind: len(stripe_standin.of_type(kind))
        for kind in ("price", "product", "tax_rate", "billing.meter")
    }
    call_command("sync_price_book")
    after = {kind: len(stripe_standin.of_type(kind)) for kind in before}
    assert after == before == {"price": 4, "product": 3, "tax_rate": 1, "billing.meter": 2}


def test_operator_sees_and_adds_prices_support_only_looks(db):
    from tenants.models import PlatformRole

    operator = UserFactory(platform_role=PlatformRole.OPERATOR)
    client = sign_in(host_client(None), operator)
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    answer = client.post(
        "/console/billing/prices/add/",
        {"kind": "transaction", "amount_pence": "4", "effective_from": tomorrow},
    )
    assert answer.status_code == 302
    page = client.get("/console/billing/prices/")
    assert "Per transaction" in page.content.decode()
    assert PriceBookRow.objects.get().amount_pence == 4

    support = sign_in(host_client(None), UserFactory(platform_role=PlatformRole.SUPPORT))
    assert support.get("/console/billing/prices/").status_code == 200
    refused = support.post(
        "/console/billing/prices/add/",
        {"kind": "transaction", "amount_pence": "5", "effective_from": tomorrow},
    )
    assert refused.status_code == 403
    assert PriceBookRow.objects.count() == 1
