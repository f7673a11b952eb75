"""A session is used only on the host it began on (tenants.session_host): a shared person's
session cookie from one council's host signs nobody in on the other's, and a half-finished
sign-in cannot be finished elsewhere."""

import pytest
from django.conf import settings

from tests.conftest import host_client
from tests.factories import totp_code_now
from tests.security.conftest import SECOND_FACTOR, give_code, give_password

pytestmark = pytest.mark.django_db


def carry_cookie(source, target) -> None:
    name = settings.SESSION_COOKIE_NAME
    target.cookies[name] = source.cookies[name].value


def test_a_shared_persons_session_from_one_council_is_no_sign_in_on_the_other(
    shared_person, council_a, council_b
):
    north, south = host_client(council_a), host_client(council_b)
    give_password(north, shared_person.email)
    assert give_code(north, totp_code_now(shared_person.email)).status_code == 302
    assert north.get("/team/councils/").status_code == 200

    carry_cookie(north, south)
    response = south.get("/team/councils/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    # Still signed in where it began.
    assert north.get("/team/councils/").status_code == 200


def test_a_sign_in_waiting_for_its_code_cannot_be_finished_on_another_host(
    shared_person, council_a, council_b
):
    north, south = host_client(council_a), host_client(council_b)
    assert give_password(north, shared_person.email)["Location"] == SECOND_FACTOR

    carry_cookie(north, south)
    response = give_code(south, totp_code_now(shared_person.email))

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert south.get("/team/councils/").status_code == 302


def test_the_platforms_session_is_no_sign_in_on_a_council_host(shared_person, council_a):
    platform, north = host_client(None), host_client(council_a)
    give_password(platform, shared_person.email)
    assert give_code(platform, totp_code_now(shared_person.email)).status_code == 302

    carry_cookie(platform, north)

    assert north.get("/team/councils/").status_code == 302
