"""Writes arriving from a client carry an Idempotency-Key: the same request again (a retry
after a timeout) gets the first answer and changes nothing (income.actions.api_clients)."""

import hashlib
import json
from typing import Any

from django.http import HttpResponse
from ninja import Header, Schema, Status

from income.actions.api_clients import Answer
from income.api.fields import IDEMPOTENCY_KEY

KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"


def key_header() -> Any:
    return Header(
        ...,
        alias=KEY_HEADER,
        pattern=IDEMPOTENCY_KEY,
        description="A new unique value (a UUID) per request; the same value to retry it.",
    )


def request_digest(payload: Schema, *extra: str) -> str:
    """The request as parsed (not its bytes: spacing and key order do not make it another)."""
    body = json.dumps(payload.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256("\n".join([body, *extra]).encode()).hexdigest()


def as_json(schema: type[Schema], data: dict) -> dict:
    """`data` as the JSON the answer carries, to be kept and given again on a retry."""
    return schema.model_validate(data).model_dump(mode="json")


def replied(answer: Answer, response: HttpResponse) -> Status:
    if answer.replayed:
        response[REPLAYED_HEADER] = "true"
    return Status(answer.status_code, answer.body)
