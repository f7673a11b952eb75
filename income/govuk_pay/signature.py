"""`Pay-Signature`: the lower-case hex HMAC-SHA256 of the raw request body, keyed with the
webhook's signing secret. There is no timestamp: replays are stopped by the inbox, which
remembers every `webhook_message_id`."""

import hashlib
import hmac
from collections.abc import Iterable

SIGNATURE_HEADER = "Pay-Signature"


def sign(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def matching_secret(body: bytes, signature: str, secrets: Iterable[str]) -> str | None:
    """The secret whose signature of `body` is `signature`, compared in constant time, or None.

    Every candidate is compared (no early exit), so timing says nothing about which one matched.
    """
    presented = (signature or "").strip().lower().encode()
    found = None
    for secret in secrets:
        if hmac.compare_digest(sign(body, secret).encode(), presented) and found is None:
            found = secret
    return found
