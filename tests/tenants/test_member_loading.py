"""A signed-in member's membership is loaded in the same query as the user."""

import pytest
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants.models import CouncilRole
from tests.conftest import host_client, make_member

pytestmark = pytest.mark.django_db


def _statements(client, path: str) -> tuple[object, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    return response, [q["sql"].strip() for q in captured.captured_queries]


def test_a_members_page_loads_session_then_user_with_membership_and_nothing_more(council_a):
    member = make_member(council_a, CouncilRole.AUDITOR)
    client = host_client(council_a)
    client.force_login(member)
    client.get("/health/live")  # the first page writes the session's activity stamp

    response, statements = _statements(client, "/health/live")

    assert response.status_code == 200
    # Two statements and no `SET search_path` before either: both name their tables with
    # their schema (tenants.postgresql_backend).
    assert len(statements) == 2, statements
    assert "FROM public.django_session" in statements[0]
    assert "FROM public.tenants_user u" in statements[1]
    assert "JOIN public.tenants_membership m" in statements[1]


def test_the_next_statement_after_them_sets_the_councils_search_path_again(council_a):
    member = make_member(council_a, CouncilRole.AUDITOR)
    client = host_client(council_a)
    client.force_login(member)
    client.get("/")

    response, statements = _statements(client, "/receipts/")

    assert response.status_code == 200
    view_statements = statements[2:]
    assert view_statements[0] == f'SET search_path = "{council_a.schema_name}","public"'
    assert not any(s.startswith("SET search_path") for s in statements[:2])


def test_the_loaded_membership_is_the_members_own_at_this_council(council_a, council_b):
    member = make_member(council_a, CouncilRole.AUDITOR)
    make_member_elsewhere = council_b.memberships.create(user=member, role=CouncilRole.ADMIN)
    client = host_client(council_a)
    client.force_login(member)

    response = client.get("/")

    membership = response.wsgi_request.membership
    assert membership.role == CouncilRole.AUDITOR  # not the admin role they hold at council B
    assert membership.council == council_a and membership.user == member
    assert membership.works_elsewhere is True
    assert make_member_elsewhere.pk != membership.pk


def test_the_loaded_user_says_whether_they_have_enrolled_mfa(council_a):
    member = make_member(council_a, CouncilRole.INCOME_OFFICER, totp=False)
    RecoveryCodes.activate(member)  # recovery codes alone are not a second factor
    client = host_client(council_a)
    client.force_login(member)
    assert client.get("/health/live").wsgi_request.user.mfa_enrolled is False

    TOTP.activate(member, generate_totp_secret())

    assert client.get("/health/live").wsgi_request.user.mfa_enrolled is True
