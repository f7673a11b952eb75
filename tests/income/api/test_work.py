"""Suspense and refunds through the API: the screen's actions, as the client's service
identity, once per Idempotency-Key; approving a refund stays a person's act on the screen."""

import pytest
from django.core.exceptions import PermissionDenied

from income.actions.refunds import approve_refund
from income.models import Refund, RefundStatus
from tenants.audit.models import AuditEvent
from tests.income.api.helpers import post_json, split_payment

UNPLACED = split_payment(
    amount_pence=4_000, allocations=[{"fund": None, "amount_pence": 4_000, "reference": "5000000"}]
)


def test_suspense_is_listed_and_allocated_once_per_key(api):
    number = post_json(api, "/api/v1/receipts", UNPLACED).json()["number"]
    (item,) = api.get("/api/v1/suspense").json()
    assert (item["receipt"], item["in_suspense_pence"]) == (number, 4_000)
    assert item["references"] == ["5000000"]

    wrong = {"allocations": [{"fund": "CTAX", "amount_pence": 4_000}], "note": "Typo in ref"}
    refused = post_json(api, f"/api/v1/suspense/{number}/allocations", wrong)
    assert refused.status_code == 422
    assert refused.json()["errors"] == [
        "The reference for CTAX is not valid: must be at least 8 characters (it has 7)"
    ]

    body = {
        "allocations": [{"fund": "CTAX", "amount_pence": 4_000, "reference": "50000009"}],
        "note": "Missing check digit",
    }
    moved = post_json(api, f"/api/v1/suspense/{number}/allocations", body, key="alloc-1")
    assert moved.status_code == 201, moved.content
    assert [(a["fund"], a["reference"]) for a in moved.json()["receipt"]["allocations"]] == [
        ("CTAX", "50000009")
    ]
    again = post_json(api, f"/api/v1/suspense/{number}/allocations", body, key="alloc-1")
    assert again.json() == moved.json() and again["Idempotent-Replayed"] == "true"
    assert api.get("/api/v1/suspense").json() == []
    event = AuditEvent.objects.get(action="suspense.allocated")
    assert event.actor_email.startswith("revenues-system.") and event.reason == body["note"]


def test_a_refund_is_raised_once_and_approved_only_by_a_person(api, ledger, admin):
    number = post_json(api, "/api/v1/receipts", split_payment()).json()["number"]
    ask = {"receipt": number, "fund": "PARK", "amount_pence": 3_550, "reason": "Notice cancelled"}
    raised = post_json(api, "/api/v1/refunds", ask, key="refund-1")
    assert raised.status_code == 201, raised.content
    assert raised.json()["status"] == "requested"
    assert raised.json()["reference"] == "PCN123456"
    again = post_json(api, "/api/v1/refunds", ask, key="refund-1")
    assert again.json() == raised.json()
    assert Refund.objects.count() == 1
    too_much = post_json(api, "/api/v1/refunds", {**ask, "amount_pence": 1})
    assert too_much.json()["detail"] == f"At most £0.00 of {number} can be refunded from PARK."

    # No path approves it; its service identity's role may not, whatever it tried.
    assert api.post(f"/api/v1/refunds/{raised.json()['id']}/approve").status_code == 404
    refund = Refund.objects.get()
    with pytest.raises(PermissionDenied, match=r"Your role \(Income officer\) does not allow"):
        approve_refund(council=ledger, refund=refund, acting_user=refund_raiser(refund))
    approve_refund(council=ledger, refund=refund, acting_user=admin)
    followed = api.get(f"/api/v1/refunds/{refund.pk}").json()
    assert followed["status"] == RefundStatus.APPROVED


def refund_raiser(refund: Refund):
    from tenants.models import User

    return User.objects.get(pk=refund.raised_by_id)


def test_funds_and_rules_are_read_and_a_reference_checked_without_the_check_digit(api):
    codes = [fund["code"] for fund in api.get("/api/v1/funds").json()]
    assert codes == ["CTAX", "PARK"]
    fund = api.get("/api/v1/funds/ctax").json()
    assert fund["reference_rule"] == "Council Tax account"
    (rule,) = api.get("/api/v1/reference-rules").json()
    assert rule["check_digit_method"] == "luhn" and "weights" not in rule

    def check(reference: str) -> dict:
        return api.post(
            "/api/v1/funds/CTAX/check-reference",
            {"reference": reference},
            content_type="application/json",
        ).json()

    assert check("50000009")["valid"] is True
    wrong = check("50000000")
    assert wrong == {
        "fund": "CTAX",
        "reference": "50000000",
        "valid": False,
        "message": "The reference for CTAX is not valid.",
    }
    assert check("5000")["message"] == (
        "The reference for CTAX is not valid: must be at least 8 characters (it has 4)"
    )
    assert api.get("/api/v1/funds/NOPE").json()["detail"] == "There is no fund NOPE."
