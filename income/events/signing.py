"""The `Counterfoil-Signature` header, documented as Stripe documents its own.

    Counterfoil-Signature: t=1733270400,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff5...

`t` is when the attempt was made (Unix seconds); `v1` is the hex HMAC-SHA256 of the string
`<t>.<body>` (the timestamp, a full stop, and the request body exactly as received), keyed with
the endpoint's signing secret (`whsec_...`, shown once when the endpoint is added). A receiver
computes the same HMAC, compares it in constant time, and refuses a timestamp older than its
tolerance (five minutes is usual) so that a captured request cannot be replayed later. Each
attempt is signed afresh; the body's `id` is the same on every attempt, for deduplication.
"""

import hashlib
import hmac
import secrets
import time

SIGNATURE_HEADER = "Counterfoil-Signature"
SCHEME = "v1"
DEFAULT_TOLERANCE_SECONDS = 300


class SignatureRefused(ValueError):
    pass


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def signature_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},{SCHEME}={_digest(secret, timestamp, body)}"


def verify(
    secret: str,
    body: bytes,
    header: str,
    *,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> int:
    """What a receiver does (in Python): check the header against the body; return `t`."""
    parts = [part.split("=", 1) for part in header.split(",") if "=" in part]
    timestamps = [value for key, value in parts if key.strip() == "t"]
    signatures = [value for key, value in parts if key.strip() == SCHEME]
    if len(timestamps) != 1 or not timestamps[0].isdigit() or not signatures:
        raise SignatureRefused("The signature header is not t=<unix time>,v1=<hex>.")
    timestamp = int(timestamps[0])
    expected = _digest(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, signature) for signature in signatures):
        raise SignatureRefused("The signature does not match the body.")
    if abs((time.time() if now is None else now) - timestamp) > tolerance_seconds:
        raise SignatureRefused("The signature's timestamp is outside the tolerance.")
    return timestamp


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
