"""Finding 4: a council admin could take the GOV.UK Pay API key by pointing the connection at
their own server and pressing "Test connection", and probe internal hosts and ports with the
same field. The address is now a choice of GOV.UK Pay's own (and stand-ins an operator
allows), changing it clears the saved key, and a failed test says the same whatever happened."""

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import override_settings

from income.actions.govuk_pay.connections import (
    ADDRESS_CHANGE_NEEDS_KEY,
    CONNECTION_TEST_FAILED,
    check_connection,
    save_connection,
)
from income.defaults import seed_income_defaults
from income.models import GovukPayConnection
from tenants.models import CouncilRole
from tenants.secrets_at_rest import decrypt
from tests.conftest import host_client, make_member
from tests.factories import PASSWORD
from tests.standins.govuk_pay_server import StandinGovukPay

SETTINGS = "/govuk-pay/settings/"
GOVUK_PAY = "https://publicapi.payments.service.gov.uk"
KEY = "api_test_stored0123456789abcdefghijklmnopqrstuv"


class Listener:
    """Someone else's server on a loopback port, noting every request it is sent."""

    def __init__(self) -> None:
        seen = self.seen = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append((self.path, self.headers.get("Authorization")))
                body = b"<html>Not GOV.UK Pay</html>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.stop()


@pytest.fixture
def standin() -> Iterator[StandinGovukPay]:
    with StandinGovukPay(webhook_retry_delays=(0.05,)) as server:
        server.add_service(KEY)
        yield server


@pytest.fixture(autouse=True)
def _quick(settings):
    settings.GOVUK_PAY_TIMEOUT_SECONDS = 0.5
    settings.GOVUK_PAY_RETRIES = 0


@pytest.fixture
def ledger(db, in_council_a):
    seed_income_defaults()
    return in_council_a


@pytest.fixture
def admin(council_a):
    return make_member(council_a, CouncilRole.ADMIN)


def signed_in(council, user):
    client = host_client(council)
    assert client.login(email=user.email, password=PASSWORD)
    return client


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_a_typed_address_is_refused_and_the_key_is_never_sent_there(
    ledger, admin, standin, listener
):
    with override_settings(GOVUK_PAY_STANDIN_URLS=[standin.url]):
        save_connection(council=ledger, acting_user=admin, api_key=KEY, base_url=standin.url)
        client = signed_in(ledger, admin)
        response = client.post(SETTINGS, {"base_url": listener.url})
        assert response.status_code == 200
        assert (
            f"Select a valid choice. {listener.url} is not one of the available choices."
            in response.content.decode()
        )
        connection = GovukPayConnection.objects.get()
        page = client.post(f"{SETTINGS}{connection.pk}/test/", follow=True).content.decode()

    # Nothing valid was lost: the key and the address are as they were, and the test went to
    # the stand-in; the listener heard nothing at all.
    connection.refresh_from_db()
    assert (connection.base_url, decrypt(connection.api_key_encrypted)) == (standin.url, KEY)
    assert "Connected: GOV.UK Pay accepted the key." in page
    assert listener.seen == []


def test_the_action_refuses_an_address_that_is_not_gov_uk_pays(ledger, admin, listener):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refusal:
        save_connection(council=ledger, acting_user=admin, api_key=KEY, base_url=listener.url)
    assert refusal.value.messages == ["Choose GOV.UK Pay's address from the list."]
    assert not GovukPayConnection.objects.exists()
    assert listener.seen == []


def test_a_connection_saved_with_any_other_address_never_sends_its_key(ledger, admin, listener):
    """A row from before the address was a choice (or a stand-in no longer allowed): the
    key stays here, whichever path would have used it."""
    save_connection(council=ledger, acting_user=admin, api_key=KEY)
    GovukPayConnection.objects.update(base_url=listener.url)
    connection = GovukPayConnection.objects.get()
    ok, message = check_connection(council=ledger, connection=connection, acting_user=admin)
    assert (ok, message) == (False, CONNECTION_TEST_FAILED)
    assert listener.seen == []


def test_changing_the_address_clears_the_key_which_must_be_given_again(
    ledger, admin, standin, listener
):
    with override_settings(GOVUK_PAY_STANDIN_URLS=[standin.url, listener.url]):
        save_connection(council=ledger, acting_user=admin, api_key=KEY, base_url=standin.url)
        client = signed_in(ledger, admin)
        page = client.post(SETTINGS, {"base_url": listener.url}).content.decode()
        assert ADDRESS_CHANGE_NEEDS_KEY in page.replace("&#x27;", "'")
        connection = GovukPayConnection.objects.get()
        # Refused whole: the old key still works with the old address only.
        assert (connection.base_url, decrypt(connection.api_key_encrypted)) == (standin.url, KEY)
        client.post(f"{SETTINGS}{connection.pk}/test/")
        assert listener.seen == []

        # Given with a new key, the new address takes that key, and the old one is gone.
        new_key = "api_test_for_the_other_address_0000000000"
        response = client.post(SETTINGS, {"base_url": listener.url, "api_key": new_key})
        assert response.status_code == 302
        connection.refresh_from_db()
        assert (connection.base_url, decrypt(connection.api_key_encrypted)) == (
            listener.url,
            new_key,
        )
        client.post(f"{SETTINGS}{connection.pk}/test/")
    assert [authorization for _path, authorization in listener.seen] == [f"Bearer {new_key}"]


def test_the_address_offered_is_gov_uk_pays_own_unless_an_operator_allows_a_stand_in(
    ledger, admin, standin
):
    with override_settings(GOVUK_PAY_STANDIN_URLS=[]):
        page = signed_in(ledger, admin).get(SETTINGS).content.decode()
    assert f'value="{GOVUK_PAY}"' in page and standin.url not in page
    with override_settings(GOVUK_PAY_STANDIN_URLS=[standin.url]):
        page = signed_in(ledger, admin).get(SETTINGS).content.decode()
    assert f'value="{standin.url}"' in page


def test_a_closed_port_and_a_server_that_is_not_gov_uk_pay_answer_alike(ledger, admin, listener):
    from income.models import Fund

    closed = closed_port_url()
    with override_settings(GOVUK_PAY_STANDIN_URLS=[closed, listener.url]):
        save_connection(council=ledger, acting_user=admin, api_key=KEY, base_url=closed)
        fund = Fund.objects.create(code="OTHER", name="Other")
        save_connection(
            council=ledger, acting_user=admin, fund=fund, api_key=KEY, base_url=listener.url
        )
        client = signed_in(ledger, admin)
        pages = {}
        for connection in GovukPayConnection.objects.all():
            page = client.post(f"{SETTINGS}{connection.pk}/test/", follow=True).content.decode()
            pages[connection.base_url] = page
    assert listener.seen, "the listener was allowed here: it must have been asked"
    for page in pages.values():
        assert CONNECTION_TEST_FAILED in page.replace("&#x27;", "'")
        assert "Not GOV.UK Pay" not in page and "200" not in page.split("GOV.UK Pay services")[1]
    results = set(GovukPayConnection.objects.values_list("last_test_result", flat=True))
    assert results == {CONNECTION_TEST_FAILED}
