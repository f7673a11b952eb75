"""Load clients for webhook intake: each sends signed GOV.UK Pay webhook messages, every one
with a new `webhook_message_id`, as GOV.UK Pay does. Standard library only: these run in
spawned processes that never set Django up."""

import hashlib
import hmac
import itertools

from tests.bench.http_load import LoadResult, timed_requests

MESSAGE_ID_PLACEHOLDER = "@MESSAGE_ID@"


def webhook_request(host: str, path: str, body: bytes, secret: str) -> bytes:
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        f"Pay-Signature: {signature}\r\n\r\n"
    )
    return head.encode() + body


def webhook_client(
    port: int,
    host: str,
    path: str,
    template: str,
    secret: str,
    prefix: str,
    start_at: float,
    seconds: float,
) -> LoadResult:
    """Like http_load's client, but each request is a new, correctly signed message."""
    requests = (
        webhook_request(
            host, path, template.replace(MESSAGE_ID_PLACEHOLDER, f"{prefix}-{n}").encode(), secret
        )
        for n in itertools.count()
    )
    return timed_requests(port, requests, start_at, seconds)
