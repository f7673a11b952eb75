"""Schemathesis against the API in-process (its WSGI transport, inside the test's transaction):
generated requests for every operation, valid and invalid, with a client of every scope.
No answer is a server error, and every answer (status, content type, body) is one the OpenAPI
document describes. Examples per operation are bounded (SCHEMATHESIS_EXAMPLES) so the run
stays well under a minute."""

import os

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from income.api.app import api
from tenants.actions.councils import council_host
from tests.income.api.helpers import post_json, split_payment

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "20"))
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]
schema = schemathesis.openapi.from_dict(api.get_openapi_schema())
APP = WSGIHandler()


@pytest.fixture
def served(ledger, make_api_client, funds, settings, tmp_path):
    """Council A with a receipt to find and a client that the rate limit will not stop."""
    settings.MEDIA_ROOT = tmp_path
    _client, token = make_api_client(rate_limit_per_minute=100_000)
    headers = {"Authorization": f"Bearer {token}", "Host": council_host(ledger.slug)}
    from tests.income.api.conftest import api_client

    post_json(api_client(ledger, token), "/api/v1/receipts", split_payment())
    # A WSGI request closes the database connection when it starts and ends (Django's
    # close_old_connections); here that is the test's own, with its transaction. Django's
    # test client unhooks it around each request (and hooks it again after: so unhook it
    # after the test client's last request).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield headers
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_answer_is_in_the_schema_and_none_is_a_server_error(case, served):
    response = case.call(app=APP, headers=served, base_url=f"http://{served['Host']}")
    case.validate_response(response, checks=CHECKS)
