"""Signing in safely: a second factor before anything else, idle and absolute session limits,
wrong passwords rate-limited, and the password again before sensitive actions."""

import time
from datetime import timedelta

import pytest
from allauth.mfa.models import Authenticator
from django.contrib.sessions.models import Session
from django.utils import timezone

from tenants.models import CouncilRole, Membership, PlatformRole
from tenants.session_lifetime import SIGNED_IN_AT_SESSION_KEY
from tests.conftest import host_client, make_member, sign_in
from tests.factories import (
    PASSWORD,
    UserFactory,
    totp_code_for_secret,
    totp_code_now,
    totp_secret_for,
)

pytestmark = pytest.mark.django_db

ENROL = "/accounts/2fa/totp/activate/"
COUNCIL_PAGES = [
    "/",
    "/team/",
    "/team/invite/",
    "/team/councils/",
    "/receipts/",
    "/receipts/new/",
    "/suspense/",
    "/refunds/",
    "/cash-ups/",
    "/config/",
    "/accounts/email/",
    "/accounts/password/change/",
]


def test_a_member_without_a_second_factor_is_sent_to_enrol_from_every_page(council_a):
    member = make_member(council_a, CouncilRole.ADMIN, totp=False)
    client = sign_in(host_client(council_a), member)

    for path in COUNCIL_PAGES:
        for method in ("get", "post"):
            response = getattr(client, method)(path)
            assert response.status_code == 302, (method, path)
            assert response["Location"] == ENROL, (method, path)

    # Enrolment itself, and signing out, stay open.
    page = client.get(ENROL)
    assert page.status_code == 200
    assert b"authenticator" in page.content.lower()
    assert client.get("/accounts/logout/").status_code == 200


def test_recovery_codes_alone_are_not_a_second_factor(council_a):
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

    member = make_member(council_a, totp=False)
    RecoveryCodes.activate(member)
    client = sign_in(host_client(council_a), member)

    assert client.get("/team/")["Location"] == ENROL


def test_enrolling_through_the_page_opens_the_council(council_a):
    member = make_member(council_a, totp=False)
    client = sign_in(host_client(council_a), member)
    client.get(ENROL)  # the page draws a secret and keeps it in the session
    secret = client.session["mfa.totp.secret"]

    code = totp_code_for_secret(secret)
    response = client.post(ENROL, {"code": code})

    assert response.status_code == 302
    assert Authenticator.objects.filter(user=member, type=Authenticator.Type.TOTP).exists()
    assert client.get("/team/").status_code == 200


def test_a_member_with_a_second_factor_is_let_through_until_it_is_removed(council_a):
    member = make_member(council_a)
    client = sign_in(host_client(council_a), member)
    assert client.get("/team/").status_code == 200

    # On a council's host the user is loaded with their enrolment on every request
    # (tenants.authentication), so a removed authenticator is noticed at once.
    Authenticator.objects.filter(user=member).delete()
    assert client.get("/team/")["Location"] == ENROL


def test_an_operator_without_a_second_factor_is_sent_to_enrol_on_the_platform():
    operator = UserFactory(platform_role=PlatformRole.OPERATOR, totp=False)
    client = sign_in(host_client(None), operator)

    for path in ("/", "/console/", "/console/applications/"):
        assert client.get(path)["Location"] == ENROL, path


def test_the_last_second_factor_cannot_be_removed(council_a):
    member = make_member(council_a)
    client = sign_in(host_client(council_a), member)

    response = client.post("/accounts/2fa/totp/deactivate/")

    assert response.status_code == 200
    assert Authenticator.objects.filter(user=member, type=Authenticator.Type.TOTP).exists()
    # A second one added, the first may go.
    Authenticator.objects.create(user=member, type=Authenticator.Type.WEBAUTHN, data={})
    client.post("/accounts/2fa/totp/deactivate/")
    assert not Authenticator.objects.filter(user=member, type=Authenticator.Type.TOTP).exists()


def test_signing_in_asks_for_the_code_after_the_password(council_a):
    member = make_member(council_a)
    client = host_client(council_a)

    response = client.post("/accounts/login/", {"login": member.email, "password": PASSWORD})
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert client.get("/team/").status_code == 302  # not signed in yet

    response = client.post("/accounts/2fa/authenticate/", {"code": totp_code_now(member.email)})
    assert response.status_code == 302
    assert client.get("/team/").status_code == 200
    assert totp_secret_for(member.email)  # the factory's authenticator is the one checked


@pytest.fixture
def rate_limits_forgotten_after():
    """allauth counts failures in the cache, which outlives the test's transaction."""
    from django.core.cache import cache

    yield
    cache.clear()


def test_wrong_passwords_are_rate_limited(council_a, rate_limits_forgotten_after):
    member = make_member(council_a)
    client = host_client(council_a)

    for _ in range(5):
        response = client.post("/accounts/login/", {"login": member.email, "password": "wrong"})
        assert b"not correct" in response.content
    response = client.post("/accounts/login/", {"login": member.email, "password": PASSWORD})

    assert b"Too many failed login attempts" in response.content
    assert "_auth_user_id" not in client.session


def test_a_session_idle_for_longer_than_the_timeout_is_signed_out(council_a, settings):
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    member = make_member(council_a)
    client = sign_in(host_client(council_a), member)
    assert client.get("/team/").status_code == 200

    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )

    response = client.get("/team/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_session_older_than_the_absolute_cap_is_signed_out_however_busy(council_a, settings):
    assert settings.SESSION_ABSOLUTE_SECONDS == 12 * 60 * 60
    member = make_member(council_a)
    client = sign_in(host_client(council_a), member)
    assert client.get("/team/").status_code == 200
    session = client.session
    session[SIGNED_IN_AT_SESSION_KEY] = int(time.time()) - settings.SESSION_ABSOLUTE_SECONDS - 1
    session.save()

    response = client.get("/team/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/team/"
    assert "_auth_user_id" not in client.session


def test_changing_a_role_asks_for_the_password_again_then_does_it(council_a):
    admin = make_member(council_a, CouncilRole.ADMIN)
    officer = Membership.objects.get(user=make_member(council_a), council=council_a)
    client = sign_in(host_client(council_a), admin, recently_reauthenticated=False)
    path = f"/team/members/{officer.pk}/role/"

    assert client.get(path).status_code == 200  # looking needs no password
    response = client.post(path, {"role": CouncilRole.AUDITOR})

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauthenticate/")
    officer.refresh_from_db()
    assert officer.role == CouncilRole.INCOME_OFFICER

    # The password given again, the change that was asked for goes through.
    client.post(response["Location"], {"password": PASSWORD})
    officer.refresh_from_db()
    assert officer.role == CouncilRole.AUDITOR


def test_removing_a_member_asks_for_the_password_again(council_a):
    admin = make_member(council_a, CouncilRole.ADMIN)
    officer = Membership.objects.get(user=make_member(council_a), council=council_a)
    client = sign_in(host_client(council_a), admin, recently_reauthenticated=False)

    response = client.post(f"/team/members/{officer.pk}/remove/")

    assert response["Location"].startswith("/accounts/reauthenticate/")
    assert Membership.objects.filter(pk=officer.pk).exists()


def test_an_anonymous_request_costs_no_query_for_the_sign_in_checks(
    council_a, django_assert_num_queries
):
    client = host_client(council_a)
    client.get("/health/live")  # warm the host cache
    with django_assert_num_queries(0):
        client.get("/health/live")


def test_an_enrolled_members_request_costs_no_query_of_its_own_for_mfa(council_a):
    member = make_member(council_a)
    client = sign_in(host_client(council_a), member)
    client.get("/team/councils/")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        client.get("/team/councils/")
    # Asked inside the query that loads the user, never on its own.
    asking = [q["sql"] for q in queries.captured_queries if "mfa_authenticator" in q["sql"]]
    assert len(asking) == 1 and "FROM public.tenants_user u" in asking[0]


def test_a_busy_session_is_renewed_once_a_minute_not_on_every_request(council_a):
    from tenants.session_lifetime import REFRESHED_AT_SESSION_KEY

    member = make_member(council_a)
    client = sign_in(host_client(council_a), member)
    client.get("/team/")
    key = client.session.session_key
    first_expiry = Session.objects.get(session_key=key).expire_date

    client.get("/team/")  # within the minute: not written again
    assert Session.objects.get(session_key=key).expire_date == first_expiry

    session = client.session
    session[REFRESHED_AT_SESSION_KEY] = int(time.time()) - 61
    session.save()
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() + timedelta(minutes=5)
    )
    client.get("/team/")  # a minute on: renewed for another 30 minutes
    renewed = Session.objects.get(session_key=key).expire_date
    assert renewed > timezone.now() + timedelta(minutes=29)


def test_a_forgotten_password_is_reset_by_an_emailed_link_and_the_second_factor_still_asked(
    council_a, rate_limits_forgotten_after
):
    import re

    from django.core import mail

    member = make_member(council_a)
    client = host_client(council_a)

    client.post("/accounts/password/reset/", {"email": member.email})

    (email,) = mail.outbox
    assert email.to == [member.email]
    link = re.search(r"http://north-test\.localhost(/accounts/password/reset/key/\S+/)", email.body)
    assert link, email.body  # in the plain-text part
    form_page = client.get(link.group(1), follow=True)
    new_password = "a-brand-new-password-2026"
    done = client.post(
        form_page.redirect_chain[-1][0] if form_page.redirect_chain else link.group(1),
        {"password1": new_password, "password2": new_password},
    )
    assert done.status_code == 302

    response = client.post("/accounts/login/", {"login": member.email, "password": new_password})
    assert response["Location"] == "/accounts/2fa/authenticate/"  # the second factor still
