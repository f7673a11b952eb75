"""Requests as an integration sends them."""

import json
import uuid

from django.test import Client


def post_json(client: Client, path: str, body: dict, key: str | None = "new"):
    headers = {}
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = uuid.uuid4().hex if key == "new" else key
    return client.post(path, json.dumps(body), content_type="application/json", **headers)


def split_payment(**changes) -> dict:
    """£100 to Council Tax for 50000009 and £35.50 to Parking Fines for a notice, by bank."""
    return {
        "channel": "BANK",
        "amount_pence": 13_550,
        "received_on": "2026-11-24",
        "payer_name": "Jo Bloggs",
        "allocations": [
            {"fund": "CTAX", "amount_pence": 10_000, "reference": "50000009"},
            {"fund": "PARK", "amount_pence": 3_550, "reference": "PCN123456"},
        ],
        **changes,
    }
