"""The idle timeout: activity keeps a session alive, written at most once a minute; a session
left idle past SESSION_COOKIE_AGE signs its person out."""

import datetime

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tenants.models import CouncilRole
from tenants.session_activity import REFRESHED_AT
from tests.conftest import host_client, make_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def member_client(council_a):
    member = make_member(council_a, CouncilRole.INCOME_OFFICER)
    client = host_client(council_a)
    client.force_login(member)
    return client


def _session(client) -> Session:
    return Session.objects.get(session_key=client.cookies[settings.SESSION_COOKIE_NAME].value)


def _session_writes(client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return sum('UPDATE "django_session"' in query["sql"] for query in captured.captured_queries)


def test_activity_writes_the_session_once_then_not_again_within_the_minute(member_client):
    assert _session_writes(member_client, "/") == 1  # the first page stamps the session
    stamped_expiry = _session(member_client).expire_date
    assert _session_writes(member_client, "/") == 0
    assert _session_writes(member_client, "/") == 0
    assert _session(member_client).expire_date == stamped_expiry


def test_activity_after_the_minute_moves_the_expiry_forward(member_client):
    member_client.get("/")
    session = _session(member_client)
    data = session.get_decoded()
    data[REFRESHED_AT] -= settings.SESSION_REFRESH_SECONDS  # the last write was a minute ago
    Session.objects.filter(pk=session.pk).update(
        session_data=Session.objects.encode(data),
        expire_date=timezone.now() + datetime.timedelta(seconds=30),
    )

    assert _session_writes(member_client, "/") == 1
    expiry = _session(member_client).expire_date
    assert expiry > timezone.now() + datetime.timedelta(seconds=settings.SESSION_COOKIE_AGE - 60)


def test_an_idle_session_past_its_expiry_is_signed_out(member_client):
    member_client.get("/")
    Session.objects.filter(pk=_session(member_client).pk).update(
        expire_date=timezone.now() - datetime.timedelta(seconds=1)
    )

    response = member_client.get("/")

    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_anonymous_visitors_get_no_session_written(council_a):
    client = host_client(council_a)
    assert _session_writes(client, "/health/live") == 0
    assert settings.SESSION_COOKIE_NAME not in client.cookies
