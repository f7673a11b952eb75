"""Load clients for webhook intake: each sends signed GOV.UK Pay webhook messages, every one
with a new `webhook_message_id`, as GOV.UK Pay does. Standard library only: these run in
spawned processes that never set Django up."""

import hashlib
import hmac
import itertools
import time

from tests.bench.http_load import LoadResult, fetch_status

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
    time.sleep(max(0.0, start_at - time.monotonic()))
    end_at = start_at + seconds
    result = LoadResult(seconds=seconds)
    for number in itertools.count():
        body = template.replace(MESSAGE_ID_PLACEHOLDER, f"{prefix}-{number}").encode()
        request = webhook_request(host, path, body, secret)
        began = time.monotonic()
        try:
            status = str(fetch_status(port, request))
        except (OSError, ValueError, IndexError) as error:
            status = type(error).__name__
        ended = time.monotonic()
        if ended > end_at:
            return result
        result.latencies.append(ended - began)
        if status != "200":
            result.failures[status] += 1
    return result
