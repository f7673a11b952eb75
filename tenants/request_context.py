"""What we know about the request being served, for log lines and audit records.

One middleware keeps the request id (the proxy's X-Request-ID if sane, else a new one) and the
request itself in context variables; log lines read the id and the council, and an audit
record reads where the request came from only when one is written.
"""

import contextvars
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection
from django.http import HttpRequest, HttpResponse

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_request: contextvars.ContextVar[HttpRequest | None] = contextvars.ContextVar(
    "request", default=None
)
_INCOMING_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


@dataclass(frozen=True)
class RequestOrigin:
    ip_address: str | None = None
    user_agent: str = ""
    request_id: str = ""


def current_request() -> HttpRequest | None:
    return _request.get()


def current_request_id() -> str:
    return _request_id.get()


def current_origin() -> RequestOrigin:
    """Where the current request came from; empty outside a request (a task, the CLI).

    REMOTE_ADDR is the proxy's address behind a load balancer unless gunicorn is told to
    trust its X-Forwarded-For (--forwarded-allow-ips)."""
    request = _request.get()
    if request is None:
        return RequestOrigin()
    return RequestOrigin(
        ip_address=request.META.get("REMOTE_ADDR") or None,
        user_agent=request.headers.get("User-Agent", "")[:300],
        request_id=_request_id.get(),
    )


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _INCOMING_ID.match(incoming) else os.urandom(16).hex()
        id_token = _request_id.set(request_id)
        request_token = _request.set(request)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(id_token)
            _request.reset(request_token)
        response["X-Request-ID"] = request_id
        return response


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        record.council = getattr(connection, "schema_name", "public")
        return True
