"""The demo connects each seeded council to its own service on the GOV.UK Pay stand-in."""

import pytest
from django_tenants.utils import schema_context

from counterfoil.demo_seed import demo_govuk_pay_keys, seed_demo
from income.govuk_pay.encryption import decrypt
from income.models import GovukPayConnection
from tenants.models import Council

pytestmark = pytest.mark.django_db


def test_seeded_councils_are_connected_to_the_stand_in(standin):
    seed_demo(govuk_pay_url=standin.url, webhook_port=8000)
    seed_demo(govuk_pay_url=standin.url, webhook_port=8000)  # again: nothing doubled
    for slug in ("northbrook", "eastmere"):
        council = Council.objects.get(slug=slug)
        api_key, secret = demo_govuk_pay_keys(slug)
        with schema_context(council.schema_name):
            connection = GovukPayConnection.objects.get()
            assert connection.base_url == standin.url
            assert decrypt(connection.api_key_encrypted) == api_key
            assert decrypt(connection.webhook_secret_encrypted) == secret
        service = standin.services[api_key]
        assert service.webhook_url == f"http://{slug}.localhost:8000/govuk-pay/webhook/"
        assert service.webhook_secret == secret
