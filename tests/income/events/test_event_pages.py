"""The event notification screens, for a council admin: adding an endpoint (with each
refusal), the delivery log with its attempts, resend, pause and resume; and who may see them."""

import datetime

import pytest
from django_tenants.utils import schema_context

from income.actions.receipts import Allocation, record_receipt
from income.events.delivery import deliver_due
from income.models import DeliveryStatus, EventDelivery, EventEndpoint
from tenants.models import CouncilRole
from tests.conftest import host_client, make_member, sign_in

pytestmark = pytest.mark.django_db
PAGE = "/events/endpoints/"
PRIVATE = (
    ", a private, loopback or link-local address: endpoints must be reachable on the internet."
)


def admin_client(council):
    return sign_in(host_client(council), make_member(council, CouncilRole.ADMIN))


def add(client, url, events=("receipt.created",)):
    return client.post(PAGE, {"url": url, "description": "Revenues", "event_types": list(events)})


def test_an_admin_adds_an_endpoint_and_sees_its_secret_once(ledger, demo_endpoints, receiver):
    client = admin_client(ledger)
    response = add(client, f"{receiver.url}/ok")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Endpoint added" in page and "it is shown only this once" in page
    endpoint = EventEndpoint.objects.get()
    secret = page.split('id="signing-secret">')[1].split("<")[0]
    assert secret.startswith("whsec_") and secret not in endpoint.secret_encrypted
    listing = client.get(PAGE).content.decode()
    assert f"{receiver.url}/ok" in listing and secret not in listing
    detail = client.get(f"{PAGE}{endpoint.pk}/").content.decode()
    assert secret not in detail and f"ending {secret[-4:]}" in detail


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "http://revenues.example.gov.uk/hook",
            "The endpoint&#x27;s address must start https:// (not http://).",
        ),
        ("https://127.0.0.1/hook", f"127.0.0.1 resolves to 127.0.0.1{PRIVATE}"),
        ("https://169.254.169.254/latest", f"169.254.169.254 resolves to 169.254.169.254{PRIVATE}"),
        ("https://10.1.2.3/hook", f"10.1.2.3 resolves to 10.1.2.3{PRIVATE}"),
        ("https://[::1]/hook", f"::1 resolves to ::1{PRIVATE}"),
        ("https://localhost/hook", "localhost resolves to"),
        (
            "https://user:pw@example.org/hook",
            "Leave the user name and password out of the endpoint&#x27;s address.",
        ),
        ("revenues.example.gov.uk", "Enter the endpoint&#x27;s full address, starting https://"),
    ],
)  # fmt: skip
def test_an_endpoint_address_is_refused_in_production(ledger, settings, url, message):
    settings.DEMO_INSECURE_ENDPOINTS = False
    settings.DEBUG = False
    response = add(admin_client(ledger), url)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not EventEndpoint.objects.exists()


def test_no_events_chosen_is_refused(ledger, demo_endpoints, receiver):
    response = add(admin_client(ledger), f"{receiver.url}/ok", events=())
    assert "Choose at least one of the events listed." in response.content.decode()


def test_the_same_address_twice_is_refused(ledger, demo_endpoints, receiver):
    client = admin_client(ledger)
    add(client, f"{receiver.url}/ok")
    response = add(client, f"{receiver.url}/ok")
    assert "That address is already an endpoint: change its events instead." in (
        response.content.decode()
    )


def test_the_delivery_log_shows_attempts_and_resend_sends_again(
    ledger, demo_endpoints, receiver, cash, parking
):
    client = admin_client(ledger)
    add(client, f"{receiver.url}/fail")
    endpoint = EventEndpoint.objects.get()
    record_receipt(
        channel=cash,
        amount_pence=700,
        received_on=datetime.date(2026, 11, 20),
        allocations=[Allocation(parking, 700)],
        idempotency_key="page-1",
        acting_user=None,
    )
    deliver_due()
    log = client.get(f"{PAGE}{endpoint.pk}/").content.decode()
    assert "receipt.created" in log and "500 Internal Server Error" in log and "Waiting" in log

    endpoint.url = f"{receiver.url}/ok"  # the receiver is mended
    endpoint.save()
    delivery = EventDelivery.objects.get()
    response = client.post(f"/events/deliveries/{delivery.pk}/resend/", follow=True)
    assert f"Event {delivery.event.event_id} is being sent again." in response.content.decode()
    deliver_due()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 2
    log = client.get(f"{PAGE}{endpoint.pk}/").content.decode()
    assert "200 OK" in log and "resent by" in log and "Delivered" in log


def test_a_paused_endpoint_keeps_its_events_until_resumed(
    ledger, demo_endpoints, receiver, cash, parking
):
    client = admin_client(ledger)
    add(client, f"{receiver.url}/ok")
    endpoint = EventEndpoint.objects.get()
    record_receipt(
        channel=cash,
        amount_pence=700,
        received_on=datetime.date(2026, 11, 20),
        allocations=[Allocation(parking, 700)],
        idempotency_key="page-2",
        acting_user=None,
    )
    client.post(f"{PAGE}{endpoint.pk}/pause/", {"paused": "1"})
    assert deliver_due() == 0
    delivery = EventDelivery.objects.get()
    response = client.post(f"/events/deliveries/{delivery.pk}/resend/", follow=True)
    assert "This endpoint is paused: resume it to send events to it again." in (
        response.content.decode()
    )
    client.post(f"{PAGE}{endpoint.pk}/pause/", {"paused": "0"})
    assert deliver_due() == 1
    assert len(receiver.received) == 1


def test_only_admins_see_the_endpoints(ledger, council_a):
    officer = sign_in(host_client(council_a), make_member(council_a, CouncilRole.FINANCE_MANAGER))
    assert officer.get(PAGE).status_code == 403
    assert host_client(council_a).get(PAGE).status_code == 302  # to sign in


def test_council_b_sees_nothing_of_council_a(ledger, council_a, council_b, demo_endpoints):
    add(admin_client(council_a), "http://127.0.0.1:9/a-only")
    endpoint = EventEndpoint.objects.get()
    with schema_context(council_b.schema_name):
        from income.defaults import seed_income_defaults

        seed_income_defaults()
        b_admin = admin_client(council_b)
        assert "a-only" not in b_admin.get(PAGE).content.decode()
        assert b_admin.get(f"{PAGE}{endpoint.pk}/").status_code == 404
