"""Log lines without the secrets some paths carry.

An invitation link (`/team/join/<token>/`), a password reset link
(`/accounts/password/reset/key/<uid>-<key>/`) and an email confirmation link
(`/accounts/confirm-email/<key>/`) each work for whoever holds the path, and a payment's
return link (`/pay/return/<token>/`, `/govuk-pay/phone/return/<token>/`) shows its payment.
Access logs keep every path (and, through the Referer of the pages that follow, the page it
came from), so they are written with the secret part replaced: gunicorn's access log through
`RedactingGunicornLogger` (`counterfoil serve` and the demo name it), Django's own log lines
(a refused link is logged as "Forbidden: <path>") through `SecretPathFilter`.
"""

import logging
import re
from typing import Any

from gunicorn.glogging import Logger

REDACTED = "[redacted]"
_SECRET_PATHS = re.compile(
    r"(?P<path>/team/join/|/accounts/password/reset/key/|/accounts/confirm-email/"
    r"|/pay/return/|/govuk-pay/phone/return/)"
    r"[^/?#\s\"']+"
)


def redact_secret_paths(text: str) -> str:
    return _SECRET_PATHS.sub(lambda match: match.group("path") + REDACTED, text)


def _redacted(value: Any) -> Any:
    return redact_secret_paths(value) if isinstance(value, str) else value


class RedactingGunicornLogger(Logger):
    """gunicorn's logger, its access-log fields (request line, path, referrer, headers)
    redacted."""

    def atoms(self, resp: Any, req: Any, environ: dict, request_time: Any) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        return {name: _redacted(value) for name, value in atoms.items()}


class SecretPathFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = _redacted(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redacted(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _redacted(value) for key, value in record.args.items()}
        return True
