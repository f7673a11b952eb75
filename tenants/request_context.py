"""What we know about the request being served, for log lines and audit records.

One middleware keeps the request id (the proxy's X-Request-ID if sane, else a new one) and the
request itself in context variables; log lines read the id and the council, and an audit
record reads where the request came from only when one is written.
"""

import contextvars
import itertools
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection
from django.http import HttpRequest, HttpResponse

_INCOMING_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# Ids made here are unique without a system call per request: a random prefix per process
# and a counter.
_PROCESS_PREFIX = os.urandom(8).hex()
_counter = itertools.count(1)


@dataclass(frozen=True)
class _Current:
    request: HttpRequest | None
    request_id: str


_OUTSIDE_A_REQUEST = _Current(None, "-")
_current: contextvars.ContextVar[_Current | None] = contextvars.ContextVar(
    "request_context", default=None
)


def _now() -> _Current:
    return _current.get() or _OUTSIDE_A_REQUEST


@dataclass(frozen=True)
class RequestOrigin:
    ip_address: str | None = None
    user_agent: str = ""
    request_id: str = ""


def current_request() -> HttpRequest | None:
    return _now().request


def current_request_id() -> str:
    return _now().request_id


def current_origin() -> RequestOrigin:
    """Where the current request came from; empty outside a request (a task, the CLI).

    REMOTE_ADDR is the proxy's address behind a load balancer unless gunicorn is told to
    trust its X-Forwarded-For (--forwarded-allow-ips)."""
    current = _now()
    if current.request is None:
        return RequestOrigin()
    return RequestOrigin(
        ip_address=current.request.META.get("REMOTE_ADDR") or None,
        user_agent=current.request.META.get("HTTP_USER_AGENT", "")[:300],
        request_id=current.request_id,
    )


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        if incoming and _INCOMING_ID.match(incoming):
            request_id = incoming
        else:
            request_id = f"{_PROCESS_PREFIX}{next(_counter):016x}"
        token = _current.set(_Current(request, request_id))
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        response.headers["X-Request-ID"] = request_id
        return response


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _now().request_id
        record.council = getattr(connection, "schema_name", "public")
        return True
