"""Councils are isolated: each host shows its own council's data and nothing of another's."""

import pytest
from django.db import transaction
from django.db.utils import ProgrammingError
from django.utils import timezone
from django_tenants.utils import schema_context

from income.actions.receipts import Allocation, record_receipt
from income.models import Channel, Fund
from tests.conftest import host_client, make_member
from tests.factories import PASSWORD, FundFactory

pytestmark = pytest.mark.django_db


def test_a_row_in_council_a_is_invisible_from_council_b_and_the_public_schema(council_a, council_b):
    with schema_context(council_a.schema_name):
        FundFactory(code="ONLYA", name="Only in A")
        assert Fund.objects.filter(code="ONLYA").exists()
    with schema_context(council_b.schema_name):
        assert not Fund.objects.filter(code="ONLYA").exists()
    with schema_context("public"), pytest.raises(ProgrammingError), transaction.atomic():
        # The public schema has no income tables at all.
        list(Fund.objects.all())


def _paid_into_new_fund(council, code, name):
    with schema_context(council.schema_name):
        fund = FundFactory(code=code, name=name)
        record_receipt(
            channel=Channel.objects.get(code="CASH"),
            amount_pence=1_234,
            received_on=timezone.localdate(),
            allocations=[Allocation(fund, 1_234)],
            idempotency_key=f"isolation:{code}",
            acting_user=None,
        )


def test_council_hosts_show_their_own_data_to_their_own_members(council_a, council_b):
    _paid_into_new_fund(council_a, "AFUND", "Allotment rents of A")
    _paid_into_new_fund(council_b, "BFUND", "Beach huts of B")
    member_of_b = make_member(council_b)

    client = host_client(council_b)
    client.login(email=member_of_b.email, password=PASSWORD)
    page = client.get("/").content.decode()

    assert "Southmere Test Council" in page
    assert "Beach huts of B" in page
    assert "Allotment rents of A" not in page
    assert "Northbrook Test Council" not in page


def test_an_unknown_host_is_a_404_and_never_the_public_site():
    from django.test import Client

    response = Client(HTTP_HOST="nowhere.localhost").get("/")
    assert response.status_code == 404
    assert b"Counterfoil" not in response.content


def test_the_platform_host_shows_the_platform_not_a_council(council_a):
    response = host_client(None).get("/")
    assert response.status_code == 200
    assert b"Income management, built once and shared" in response.content


def test_a_member_of_council_a_gets_404_on_every_page_of_council_b(council_a, council_b):
    member_of_a = make_member(council_a)
    client = host_client(council_b)

    for path in ["/", "/accounts/email/", "/accounts/password/change/", "/health/ready"]:
        client.login(email=member_of_a.email, password=PASSWORD)
        response = client.get(path)
        assert response.status_code == 404, path
        # Refused and signed out: the session cannot be used again on B's host.
        assert "_auth_user_id" not in client.session


def test_replaying_council_a_session_cookie_on_council_b_host_shows_nothing(
    council_a, council_b, settings
):
    member_of_a = make_member(council_a)
    client_a = host_client(council_a)
    client_a.login(email=member_of_a.email, password=PASSWORD)
    assert client_a.get("/").status_code == 200
    stolen = client_a.cookies[settings.SESSION_COOKIE_NAME].value

    client_b = host_client(council_b)
    client_b.cookies[settings.SESSION_COOKIE_NAME] = stolen
    response = client_b.get("/")

    # The session belongs to A's host (tenants.session_host): on B's it signs nobody in.
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert b"Northbrook" not in client_b.get(response["Location"]).content


def test_a_session_never_used_on_its_own_host_is_still_refused_on_another(council_a, council_b):
    # A session made outside any request has no host yet: on a host where its person is not a
    # member it is signed out and answered 404 (tenants.middleware).
    member_of_a = make_member(council_a)
    client_b = host_client(council_b)
    client_b.login(email=member_of_a.email, password=PASSWORD)

    response = client_b.get("/")

    assert response.status_code == 404
    assert b"Northbrook" not in response.content
    assert "_auth_user_id" not in client_b.session


def test_anonymous_visitors_are_sent_to_the_sign_in_page(council_a):
    response = host_client(council_a).get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
