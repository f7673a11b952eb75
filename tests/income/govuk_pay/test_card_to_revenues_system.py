"""Issue 17's whole story without a single file: a citizen pays two items by card through the
portal and GOV.UK Pay (the stand-in); the council's revenues system is told at once by a signed
event notification, and reads the payment through the API, each line under its own reference
with the ledger's journal, every answer checked against the served OpenAPI document."""

import json

import httpx
import pytest
from django.db import connection

from income.actions.govuk_pay.payments import BasketItem
from income.events.delivery import deliver_due
from income.events.endpoints import add_endpoint
from income.events.signing import verify
from income.models import Receipt
from tests.income.api.conftest import api_client, new_client
from tests.income.api.openapi_check import DocumentCheck
from tests.income.govuk_pay.conftest import take_card_payment
from tests.standins.event_receiver import event_receiver


@pytest.fixture
def revenues_endpoint(settings):
    settings.DEMO_INSECURE_ENDPOINTS = True  # the receiver listens on 127.0.0.1 over http
    with event_receiver() as receiver:
        yield receiver


def test_a_card_payment_reaches_the_revenues_system_by_notification_and_api(
    paying_council, standin, admin, revenues_endpoint
):
    council = paying_council["council"]
    endpoint = add_endpoint(
        council=council,
        url=f"{revenues_endpoint.url}/counterfoil-events",
        event_types=["receipt.created"],
        description="Revenues system",
        acting_user=admin,
    )
    _client, token = new_client(council, admin, scopes=["receipts:read"], name="Revenues system")
    council_tax, parking = paying_council["council_tax"], paying_council["parking"]

    payment = take_card_payment(
        council,
        [BasketItem(council_tax, "CT1234", 10_000), BasketItem(parking, "PN9876", 2_550)],
        standin,
    )

    # The worker's job, done here in the test's transaction: send what the outbox holds.
    assert deliver_due() == 1
    [notice] = revenues_endpoint.received
    verify(endpoint.secret, notice.body, notice.headers["counterfoil-signature"])
    event = json.loads(notice.body)
    assert event["type"] == "receipt.created"
    number = event["data"]["receipt"]["number"]
    assert Receipt.objects.get(number=number).amount_pence == payment.amount_pence == 12_550

    api = api_client(council, token)
    bearer = {"Authorization": f"Bearer {token}"}
    check = DocumentCheck(api.get("/api/v1/openapi.json").json())

    def get(path: str, **params: str) -> dict:
        response = api.get(path, params)
        request = httpx.Request("GET", f"http://testserver{path}", params=params, headers=bearer)
        check.on_request(request)
        check.on_response(
            httpx.Response(
                response.status_code,
                headers={"content-type": response["Content-Type"]},
                content=response.content,
                request=request,
            )
        )
        assert response.status_code == 200, response.content
        return response.json()

    found = get("/api/v1/receipts", reference="PN9876")
    assert [receipt["number"] for receipt in found["results"]] == [number]
    receipt = get(f"/api/v1/receipts/{number}")
    assert receipt["channel"] == "CARD"
    assert {(a["fund"], a["reference"], a["amount_pence"]) for a in receipt["allocations"]} == {
        ("CTAX", "CT1234", 10_000),
        ("PARK", "PN9876", 2_550),
    }
    (journal,) = receipt["journals"]
    assert sum(p["amount_pence"] for p in journal["postings"]) == 0
    assert check.failures == [] and len(check.checked) == 2
    assert connection.schema_name == council.schema_name
