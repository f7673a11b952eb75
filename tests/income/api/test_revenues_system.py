"""A revenues system plays its part over real HTTP against the app under gunicorn: with an
httpx client whose every request and answer is checked against the OpenAPI document the server
serves, it checks a reference, records a payment its own provider took, finds it by reference
and reads its allocations and ledger journals."""

import uuid

import httpx

from tenants.actions.councils import council_host
from tests.income.api.openapi_check import DocumentCheck


def test_a_revenues_system_records_a_payment_finds_it_and_reads_its_journals(
    live_api_port, committed_council_with_client
):
    council, token, _admin = committed_council_with_client
    headers = {"Host": council_host(council.slug), "Authorization": f"Bearer {token}"}
    base = f"http://127.0.0.1:{live_api_port}"
    document = httpx.get(f"{base}/api/v1/openapi.json", headers={"Host": headers["Host"]}).json()
    assert document["openapi"].startswith("3.1")
    check = DocumentCheck(document)
    with httpx.Client(base_url=base, headers=headers, event_hooks=check.hooks) as api:
        verdict = api.post(
            "/api/v1/funds/CTAX/check-reference", json={"reference": "50000000"}
        ).json()
        assert verdict["valid"] is False and verdict["message"].endswith("is not valid.")

        payment = {
            "channel": "BANK",
            "amount_pence": 13_550,
            "received_on": "2026-11-24",
            "payer_name": "Jo Bloggs",
            "narrative": "Paid through the housing portal",
            "allocations": [
                {"fund": "CTAX", "amount_pence": 10_000, "reference": "50000009"},
                {"fund": "PARK", "amount_pence": 3_550, "reference": "PCN123456"},
            ],
        }
        key = {"Idempotency-Key": str(uuid.uuid4())}
        created = api.post("/api/v1/receipts", json=payment, headers=key)
        assert created.status_code == 201, created.text
        # A retry after a lost answer changes nothing and gets the same answer.
        retried = api.post("/api/v1/receipts", json=payment, headers=key)
        assert retried.json() == created.json()
        assert retried.headers["Idempotent-Replayed"] == "true"
        number = created.json()["number"]

        found = api.get("/api/v1/receipts", params={"reference": "PCN123456"}).json()
        assert [receipt["number"] for receipt in found["results"]] == [number]

        receipt = api.get(f"/api/v1/receipts/{number}").json()
        assert {(a["fund"], a["reference"], a["amount_pence"]) for a in receipt["allocations"]} == {
            ("CTAX", "50000009", 10_000),
            ("PARK", "PCN123456", 3_550),
        }
        (journal,) = receipt["journals"]
        postings = {(p["account"], p["amount_pence"]) for p in journal["postings"]}
        assert sum(amount for _account, amount in postings) == 0
        assert {amount for _account, amount in postings} == {13_550, -10_000, -3_550}
        assert journal["created_by"].startswith("revenues-and-benefits.")
    assert check.failures == []
    assert len(check.checked) == 5
