"""Fixtures for the API: council A's ledger with two funds (Council Tax with a Luhn rule),
an admin, and clients made through the admin's own action."""

import datetime
import os
import secrets
from collections.abc import Callable, Iterator

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context
from psycopg.conninfo import make_conninfo

from income.actions.api_clients import create_api_client
from income.defaults import seed_income_defaults
from income.models import ApiScope, ReferenceRule
from tenants.actions.councils import create_council
from tenants.models import Council, CouncilRole
from tests.bench.http_load import gunicorn, http_request
from tests.conftest import host_client, make_member
from tests.factories import FundFactory
from tests.waiting import wait_for

EVERY_SCOPE = list(ApiScope.values)
VALID_CTAX = "50000009"  # Luhn: 50000000 is not valid
SERVER_NAME = "counterfoil-api-live"


@pytest.fixture
def admin(council_a):
    return make_member(council_a, CouncilRole.ADMIN)


@pytest.fixture
def funds(ledger):
    rule = ReferenceRule.objects.create(
        name="Council Tax account", min_length=8, max_length=8, check_digit_method="luhn"
    )
    return {
        "CTAX": FundFactory(code="CTAX", name="Council Tax", reference_rule=rule),
        "PARK": FundFactory(code="PARK", name="Parking Fines"),
    }


def new_client(council: Council, admin, scopes=EVERY_SCOPE, name="Revenues system", **kw):
    """(client, token) made by the admin's action, as the screen makes them."""
    issued = create_api_client(
        council=council,
        name=name,
        scopes=scopes,
        expires_at=kw.pop("expires_at", timezone.now() + datetime.timedelta(days=90)),
        rate_limit_per_minute=kw.pop("rate_limit_per_minute", 600),
        acting_user=admin,
    )
    return issued.client, issued.token


def api_client(council: Council, token: str | None) -> Client:
    """A test client on the council's host that sends `token` as a bearer token."""
    client = host_client(council)
    if token:
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


@pytest.fixture
def make_api_client(ledger, admin) -> Callable[..., tuple]:
    return lambda **kw: new_client(ledger, admin, **kw)


@pytest.fixture
def api(ledger, make_api_client, funds) -> Client:
    """Council A's API as a client with every scope."""
    _client, token = make_api_client()
    return api_client(ledger, token)


@pytest.fixture
def council_b_client(council_b, db) -> str:
    """A token of a client of council B (with every scope)."""
    with schema_context(council_b.schema_name):
        seed_income_defaults()
        admin_b = make_member(council_b, CouncilRole.ADMIN)
        _client, token = new_client(council_b, admin_b, name="Council B system")
    connection.set_schema_to_public()
    return token


@pytest.fixture(scope="package")
def live_api_port(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[int]:
    """The app under gunicorn on a free port, reading this session's test database (tests
    that use it commit what it should see)."""
    database = settings.DATABASES["default"]["NAME"]
    env = {
        **os.environ,
        "DATABASE_URL": make_conninfo(
            os.environ["DATABASE_URL"], dbname=database, application_name=SERVER_NAME
        ),
    }
    log = tmp_path_factory.mktemp("api-live") / "gunicorn.log"
    with gunicorn(
        "counterfoil.wsgi:application",
        env=env,
        log_path=log,
        probe=http_request("localhost", "/health/live"),
        workers=1,
    ) as port:
        yield port

    def server_gone() -> bool:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                "AND application_name = %s",
                [database, SERVER_NAME],
            )
            return cursor.fetchone()[0] == 0

    with django_db_blocker.unblock():
        wait_for(server_gone, timeout=20)


@pytest.fixture
def committed_council_with_client(django_db_blocker) -> Iterator[tuple]:
    """A council of its own (committed, so the server sees it), with Council Tax's Luhn rule
    and a client of the revenues system; dropped afterwards."""
    with django_db_blocker.unblock():
        council = create_council(
            name="API Live Council", slug=f"api-live-{secrets.token_hex(3)}", acting_user=None
        )
        admin = make_member(council, CouncilRole.ADMIN)
        with schema_context(council.schema_name):
            seed_income_defaults()
            rule = ReferenceRule.objects.create(
                name="Council Tax account", min_length=8, max_length=8, check_digit_method="luhn"
            )
            FundFactory(code="CTAX", name="Council Tax", reference_rule=rule)
            FundFactory(code="PARK", name="Parking Fines")
            _client, token = new_client(council, admin, name="Revenues and benefits")
        connection.set_schema_to_public()
    yield council, token, admin
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        council.delete(force_drop=True)
