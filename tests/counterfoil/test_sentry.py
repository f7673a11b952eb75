"""Errors reach Sentry through the real SDK transport, tagged with the council, scrubbed of
people's names, emails and card numbers."""

import json

import pytest
import sentry_sdk
from django.test import Client

from counterfoil.sentry import before_send, init_sentry
from tenants.actions.councils import council_host
from tests.conftest import make_member
from tests.standins.sentry_ingest import SentryIngest
from tests.waiting import wait_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def sentry():
    with SentryIngest() as ingest:
        init_sentry(ingest.dsn, environment="test")
        try:
            yield ingest
        finally:
            sentry_sdk.flush(timeout=5)
            sentry_sdk.init()  # no DSN: reporting off again for the other tests


def test_an_error_in_a_council_request_reaches_sentry_tagged_and_scrubbed(
    council_a, sentry, settings
):
    settings.ROOT_URLCONF = "tests.counterfoil.sentry_urls"
    member = make_member(council_a, full_name="Priya Ramanathan", email="priya@northbrook.example")
    client = Client(HTTP_HOST=council_host(council_a.slug), raise_request_exception=False)
    client.force_login(member)

    assert client.get("/boom/", {"payer": "Jo Bloggs"}).status_code == 500
    sentry_sdk.flush(timeout=5)
    event = wait_for(lambda: sentry.events and sentry.events[-1])

    assert event["tags"]["council"] == council_a.schema_name
    assert event["exception"]["values"][0]["type"] == "ValueError"
    sent = sentry.raw_bodies[-1].decode()
    for secret in ("priya@northbrook.example", "Priya Ramanathan", "Jo Bloggs", "4444 3333"):
        assert secret not in sent, secret
    assert event.get("user", {}).keys() <= {"id"}


def test_an_error_on_the_platform_host_is_tagged_platform(sentry):
    with sentry_sdk.new_scope():
        sentry_sdk.capture_message("platform check")
    sentry_sdk.flush(timeout=5)
    event = wait_for(lambda: sentry.events and sentry.events[-1])
    assert event["tags"]["council"] == "platform"


def test_before_send_filters_card_and_payer_data_anywhere_in_an_event():
    event = {
        "user": {"id": "7", "email": "a@b.example", "ip_address": "10.0.0.1"},
        "extra": {"card_details": {"last_digits_card_number": "1111"}, "name": "Jo Bloggs"},
        "breadcrumbs": {"values": [{"message": "emailed jo@example.org about 4000056655665556"}]},
        "request": {"data": {"cardholder_name": "J BLOGGS", "amount": "10.00"}},
        "contexts": {"runtime": {"name": "CPython"}},
    }
    scrubbed = json.dumps(before_send(event, {}))
    for secret in ("a@b.example", "10.0.0.1", "1111", "Jo Bloggs", "jo@example.org",
                   "4000056655665556", "J BLOGGS"):  # fmt: skip
        assert secret not in scrubbed, secret
    assert '"amount": "10.00"' in scrubbed
    assert '"name": "CPython"' in scrubbed  # structure that is not personal stays


def test_sentry_reports_from_django_and_celery(sentry):
    integrations = sentry_sdk.get_client().integrations
    assert {"django", "celery"} <= set(integrations)
    options = sentry_sdk.get_client().options
    assert not options["send_default_pii"]
    assert options["data_collection"]["user_info"] is False
