"""Receipts through the API: recording one (the counter's checks, once per Idempotency-Key),
searching with cursor pagination, reading one with its allocations and journals."""

from income.models import Journal, Receipt
from tenants.audit.models import AuditEvent
from tests.income.api.conftest import api_client
from tests.income.api.helpers import post_json, split_payment


def test_a_split_receipt_is_recorded_with_each_line_under_its_own_reference(api):
    response = post_json(api, "/api/v1/receipts", split_payment(), key="housing-0001")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["amount_pence"] == 13_550 and body["payer_reference"] == "50000009"
    assert {(a["fund"], a["reference"], a["amount_pence"]) for a in body["allocations"]} == {
        ("CTAX", "50000009", 10_000),
        ("PARK", "PCN123456", 3_550),
    }
    (journal,) = body["journals"]
    assert journal["kind"] == "receipt"
    assert sum(p["amount_pence"] for p in journal["postings"]) == 0
    assert journal["created_by"].startswith("revenues-system.")
    receipt = Receipt.objects.get(number=body["number"])
    assert receipt.idempotency_key.endswith(":housing-0001")
    # The audit record and the journal carry the client's name (its service identity).
    event = AuditEvent.objects.get(action="receipt.recorded", target_id=str(receipt.pk))
    assert event.actor_email.startswith("revenues-system.")
    assert Journal.objects.get(pk=journal["id"]).created_by_email == event.actor_email


def test_a_replayed_key_with_the_same_body_returns_the_first_answer(api):
    first = post_json(api, "/api/v1/receipts", split_payment(), key="retry-me")
    again = post_json(api, "/api/v1/receipts", split_payment(), key="retry-me")
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Receipt.objects.count() == 1


def test_a_replayed_key_with_another_body_is_refused(api):
    post_json(api, "/api/v1/receipts", split_payment(), key="used-once")
    other = post_json(
        api, "/api/v1/receipts", split_payment(payer_name="Someone Else"), "used-once"
    )
    assert other.status_code == 422
    assert "This Idempotency-Key was already used on" in other.json()["detail"]
    assert "for a different request" in other.json()["detail"]
    assert Receipt.objects.count() == 1


def test_a_receipt_without_an_idempotency_key_is_refused(api):
    response = post_json(api, "/api/v1/receipts", split_payment(), key=None)
    assert response.status_code == 422
    assert "Idempotency-Key" in response.json()["detail"]
    assert not Receipt.objects.exists()


def test_the_counter_checks_apply_and_a_wrong_check_digit_is_only_not_valid(api):
    lines = [{"fund": "CTAX", "amount_pence": 10_000, "reference": "50000000"}]
    response = post_json(
        api, "/api/v1/receipts", split_payment(amount_pence=10_000, allocations=lines)
    )
    assert response.status_code == 422
    assert response.json()["errors"] == ["The reference for CTAX is not valid."]
    assert "9" not in response.json()["detail"]
    short = post_json(api, "/api/v1/receipts", split_payment(amount_pence=20_000))
    assert short.json()["detail"] == "The allocations add up to £135.50, not the £200.00 paid."
    cash = post_json(api, "/api/v1/receipts", split_payment(channel="CASH"))
    assert cash.status_code == 422
    assert cash.json()["detail"] == (
        "Cash is taken at the counter and counted in a cash-up, not sent through the API."
    )
    unknown = post_json(api, "/api/v1/receipts", split_payment(allocations=[
        {"fund": "NOPE", "amount_pence": 13_550}
    ]))  # fmt: skip
    assert unknown.json()["detail"] == "There is no fund NOPE."
    assert not Receipt.objects.exists()
    # A refused request keeps no answer: mended, it may be sent again with the same key.
    assert post_json(api, "/api/v1/receipts", split_payment(), key="mend").status_code == 201


def test_receipts_are_found_by_any_line_reference_and_paged_with_a_cursor(api):
    numbers = [
        post_json(api, "/api/v1/receipts", split_payment(received_on=f"2026-11-{day}")).json()[
            "number"
        ]
        for day in (20, 21, 22)
    ]
    found = api.get("/api/v1/receipts", {"reference": "PCN123456"}).json()
    assert [r["number"] for r in found["results"]] == numbers[::-1]
    first = api.get("/api/v1/receipts", {"reference": "PCN1*", "limit": 2}).json()
    assert [r["number"] for r in first["results"]] == [numbers[2], numbers[1]]
    rest = api.get("/api/v1/receipts", {"reference": "PCN1*", "after": first["next_cursor"]})
    assert [r["number"] for r in rest.json()["results"]] == [numbers[0]]
    assert rest.json()["next_cursor"] is None
    by_payer = api.get("/api/v1/receipts", {"payer_reference": "PCN123456"}).json()
    assert by_payer["results"] == []  # a line's reference, not the payer's
    dated = api.get(
        "/api/v1/receipts", {"payer_reference": "50000009", "received_from": "2026-11-21"}
    ).json()
    assert [r["number"] for r in dated["results"]] == [numbers[2], numbers[1]]
    assert api.get("/api/v1/receipts", {"fund": "PARK", "amount_pence": 1}).json()["results"] == []
    bad = api.get("/api/v1/receipts", {"received_from": "2026-11-22", "received_to": "2026-11-01"})
    assert bad.status_code == 422
    assert bad.json()["detail"] == "received_to must be on or after received_from."


def test_one_receipt_is_read_and_an_unknown_one_is_404(api):
    number = post_json(api, "/api/v1/receipts", split_payment()).json()["number"]
    body = api.get(f"/api/v1/receipts/{number}").json()
    assert body["number"] == number and len(body["allocations"]) == 2
    missing = api.get("/api/v1/receipts/R999999")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "There is no receipt R999999.", "errors": []}


def test_a_read_only_client_may_not_record_receipts(ledger, make_api_client, funds):
    _client, token = make_api_client(scopes=["receipts:read"], name="Reader")
    response = post_json(api_client(ledger, token), "/api/v1/receipts", split_payment())
    assert response.status_code == 403
    assert response.json()["detail"] == (
        "Reader does not have the receipts:write scope this needs: a council admin can give it "
        "on the API clients page."
    )
    assert not Receipt.objects.exists()
