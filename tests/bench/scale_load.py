"""Load clients for the scale benchmark: each walks its own list of councils, sending one kind of
request or a rotation of them (a signed GOV.UK Pay webhook, an API receipt search, an API
receipt recorded). Standard library only: these run in spawned processes that never set Django
up."""

import itertools
import json
from collections.abc import Iterator

from tests.bench.http_load import LoadResult, timed_requests
from tests.bench.webhook_load import MESSAGE_ID_PLACEHOLDER, webhook_request

WEBHOOK_PATH = "/govuk-pay/webhook/"
RECEIPTS_PATH = "/api/v1/receipts"
KINDS = ("webhook", "search", "receipt")


def _api_request(method: str, host: str, path: str, token: str, body: bytes = b"",
                 key: str = "") -> bytes:  # fmt: skip
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
        f"Authorization: Bearer {token}\r\n"
    )
    if body:
        head += (
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"Idempotency-Key: {key}\r\n"
        )
    return (head + "\r\n").encode() + body


def _requests(councils: list[dict], kinds: tuple[str, ...], template: str, secret: str,
              prefix: str, today: str) -> Iterator[bytes]:  # fmt: skip
    for n, council, kind in zip(
        itertools.count(), itertools.cycle(councils), itertools.cycle(kinds), strict=False
    ):
        host, token = council["host"], council["token"]
        if kind == "webhook":
            body = template.replace(MESSAGE_ID_PLACEHOLDER, f"{prefix}-{n}").encode()
            yield webhook_request(host, WEBHOOK_PATH, body, secret)
        elif kind == "search":
            reference = council.get("reference", "4500010001")
            yield _api_request("GET", host, f"{RECEIPTS_PATH}?reference={reference}", token)
        else:
            body = json.dumps({
                "channel": "BANK", "amount_pence": 1250 + n % 1000, "received_on": today,
                "payer_reference": f"SCALE{n:08d}", "payer_name": "Scale Bench",
                "allocations": [{"fund": None, "amount_pence": 1250 + n % 1000}],
            }).encode()  # fmt: skip
            yield _api_request("POST", host, RECEIPTS_PATH, token, body, f"{prefix}-{n}")


def scale_client(port: int, councils: list[dict], kinds: tuple[str, ...], template: str,
                 secret: str, prefix: str, today: str, start_at: float,
                 seconds: float) -> LoadResult:  # fmt: skip
    """Requests one after another from `start_at` for `seconds`; 200 and 201 are answers."""
    requests = _requests(councils, kinds, template, secret, prefix, today)
    return timed_requests(port, requests, start_at, seconds, answers=("200", "201"))
