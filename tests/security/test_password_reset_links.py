"""Password-reset (and other account) emails link only to hosts the platform controls, and a
council's host sends resets only to its own members, without saying whether an account exists
(tenants.account_adapter, tenants.account_links)."""

import re

import pytest
from django.core import mail
from django.test import Client

from tests.conftest import host_client, make_member
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

RESET = "/accounts/password/reset/"
RESET_SENT = "/accounts/password/reset/done/"


def ask_for_reset(client: Client, email: str):
    return client.post(RESET, {"email": email})


def test_a_councils_own_host_name_serves_no_reset_page_at_all(
    council_a, council_b, north_own_host, operator
):
    # A council's own host name is in its DNS: account pages are sent to the council's host
    # on the platform (tenants.sign_in_hosts), so nothing is asked or sent there.
    southerner = make_member(council_b)
    own_host = Client(HTTP_HOST=north_own_host)

    for email in (southerner.email, operator.email, make_member(council_a).email):
        response = ask_for_reset(own_host, email)
        assert response.status_code == 302
        assert response["Location"] == f"http://north-test.localhost{RESET}"
    assert mail.outbox == []


def test_a_members_reset_on_the_councils_platform_host_links_to_that_host(
    council_a, north_own_host
):
    member = make_member(council_a)

    ask_for_reset(host_client(council_a), member.email)

    (email,) = mail.outbox
    assert email.to == [member.email]
    link = re.search(r"http://\S+/accounts/password/reset/key/\S+/", email.body)
    assert link, email.body
    assert link.group(0).startswith("http://north-test.localhost/accounts/password/reset/key/")
    assert north_own_host not in email.body and north_own_host not in email.subject
    for html, _ in email.alternatives:
        assert north_own_host not in html
    # The link works on the platform-run host it names.
    path = link.group(0).split("localhost", 1)[1]
    assert host_client(council_a).get(path, follow=True).status_code == 200


def test_a_reset_on_the_platform_host_links_to_the_platform_host(operator):
    ask_for_reset(host_client(None), operator.email)

    (email,) = mail.outbox
    assert re.search(r"http://localhost/accounts/password/reset/key/\S+/", email.body)


def test_a_council_host_sends_no_reset_to_someone_working_only_elsewhere(council_a, council_b):
    southerner = make_member(council_b)
    someone = UserFactory()  # an account with no council at all

    for email in (southerner.email, someone.email):
        assert ask_for_reset(host_client(council_a), email)["Location"] == RESET_SENT
    assert mail.outbox == []
    # On their own council's host they get one.
    ask_for_reset(host_client(council_b), southerner.email)
    assert [email.to for email in mail.outbox] == [[southerner.email]]


def test_an_email_confirmation_asked_on_the_councils_own_name_links_to_the_platforms_host(
    council_a, north_own_host
):
    # allauth refuses new addresses while two-factor is on (every staff account), so this link
    # is rare; it is built the same way all the same.
    from allauth.account.adapter import get_adapter
    from allauth.account.models import EmailAddress, EmailConfirmation
    from django.test import RequestFactory

    member = make_member(council_a)
    request = RequestFactory().get("/accounts/email/", HTTP_HOST=north_own_host)
    request.council = council_a
    confirmation = EmailConfirmation.create(EmailAddress.objects.get(user=member))

    url = get_adapter(request).get_email_confirmation_url(request, confirmation)

    assert url == f"http://north-test.localhost/accounts/confirm-email/{confirmation.key}/"
