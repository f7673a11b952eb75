"""Where the current request came from, for the audit record (set by AuditContextMiddleware)."""

import contextvars
from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse

from counterfoil.request_id import current_request_id


@dataclass(frozen=True)
class RequestOrigin:
    ip_address: str | None = None
    user_agent: str = ""
    request_id: str = ""


_origin: contextvars.ContextVar[RequestOrigin | None] = contextvars.ContextVar(
    "audit_origin", default=None
)


def current_origin() -> RequestOrigin:
    """Where the current request came from; empty outside a request (a task, the CLI)."""
    return _origin.get() or RequestOrigin()


class AuditContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # REMOTE_ADDR is the proxy's address behind a load balancer; gunicorn's
        # --forwarded-allow-ips makes it the client's when the proxy is trusted.
        origin = RequestOrigin(
            ip_address=request.META.get("REMOTE_ADDR") or None,
            user_agent=request.headers.get("User-Agent", "")[:300],
            request_id=current_request_id(),
        )
        token = _origin.set(origin)
        try:
            return self.get_response(request)
        finally:
            _origin.reset(token)
