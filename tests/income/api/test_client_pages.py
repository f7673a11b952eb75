"""A council admin manages API clients on the screen: adds one (its secret shown once),
rotates its secret with an overlap, revokes it; others may not; council B sees none of A's."""

import re

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from income.models import ApiClient, ApiClientSecret
from tenants.audit.models import AuditEvent
from tenants.models import CouncilRole
from tests.conftest import host_client, make_member, sign_in
from tests.income.api.conftest import api_client


@pytest.fixture
def admin_page(ledger, admin):
    return sign_in(host_client(ledger), admin)


def add_client(page, **changes):
    form = {
        "name": "Revenues system",
        "scopes": ["receipts:read", "receipts:write"],
        "expires_on": "31/12/2027",
        "rate_limit_per_minute": "600",
        **changes,
    }
    return page.post("/api-clients/", form)


def token_on(response) -> str:
    return re.search(r'<code id="api-token">([^<]+)</code>', response.content.decode()).group(1)


def test_an_admin_adds_a_client_and_sees_its_secret_once(admin_page, ledger, funds):
    assert "/api-clients/" in admin_page.get("/config/").content.decode()
    response = add_client(admin_page)
    assert response.status_code == 200
    token = token_on(response)
    assert "it is shown only this once" in response.content.decode()
    client = ApiClient.objects.get()
    assert client.scopes == ["receipts:read", "receipts:write"]
    assert token.split("_", 2)[2] not in ApiClientSecret.objects.get().secret_sha256
    assert api_client(ledger, token).get("/api/v1/receipts").status_code == 200
    # Its page never shows the secret again, only where it starts.
    page = admin_page.get(f"/api-clients/{client.pk}/").content.decode()
    assert token not in page and token[:16] in page
    assert AuditEvent.objects.filter(action="api_client.created", target_id=str(client.pk))


def test_a_client_needs_a_future_expiry_and_a_scope(admin_page):
    response = add_client(admin_page, expires_on="01/01/2020", scopes=[])
    page = response.content.decode()
    assert "Choose at least one of the scopes listed." in page
    assert not ApiClient.objects.exists()
    response = add_client(admin_page, expires_on="01/01/2020")
    assert "The expiry date must be in the future." in response.content.decode()
    assert not ApiClient.objects.exists()


def test_an_admin_rotates_then_revokes_a_client(admin_page, ledger, funds):
    old = token_on(add_client(admin_page))
    client = ApiClient.objects.get()
    rotated = admin_page.post(f"/api-clients/{client.pk}/rotate/", {"overlap": "24"})
    new = token_on(rotated)
    assert new != old
    assert api_client(ledger, old).get("/api/v1/receipts").status_code == 200
    assert api_client(ledger, new).get("/api/v1/receipts").status_code == 200
    stopped = admin_page.post(f"/api-clients/{client.pk}/rotate/", {"overlap": "0"})
    newest = token_on(stopped)
    assert api_client(ledger, new).get("/api/v1/receipts").status_code == 403
    response = admin_page.post(f"/api-clients/{client.pk}/revoke/", follow=True)
    assert "Revenues system is revoked: its secrets no longer work." in response.content.decode()
    refused = api_client(ledger, newest).get("/api/v1/receipts")
    assert refused.json()["detail"] == "This API client (Revenues system) has been revoked."


def test_only_admins_manage_clients(ledger, council_a):
    officer_page = sign_in(host_client(ledger), make_member(council_a, CouncilRole.INCOME_OFFICER))
    assert officer_page.get("/api-clients/").status_code == 403
    assert add_client(officer_page).status_code == 403
    assert not ApiClient.objects.exists()


def test_council_b_sees_none_of_council_as_clients(admin_page, council_b):
    add_client(admin_page)
    client = ApiClient.objects.get()
    connection.set_schema_to_public()
    admin_b = make_member(council_b, CouncilRole.ADMIN)
    page_b = sign_in(host_client(council_b), admin_b)
    assert "Revenues system" not in page_b.get("/api-clients/").content.decode()
    assert page_b.get(f"/api-clients/{client.pk}/").status_code == 404
    with schema_context(council_b.schema_name):
        assert not ApiClient.objects.exists()
