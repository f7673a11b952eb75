"""A council whose worker node does not answer gets a clear page (503, try again shortly)
instead of a server error; every council on the other nodes carries on as usual."""

import logging
from collections.abc import Callable

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from tenants.unreachable_nodes import unreachable_node

logger = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 30


class NodeUnavailableMiddleware:
    """Turns Citus's "connection to the remote node ... failed" into the council's data being
    temporarily unavailable. Logged once, with the node and without a traceback: the node being
    down is the news, and the stack says nothing more about it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        node = unreachable_node(exception) if isinstance(exception, DatabaseError) else None
        if node is None:
            return None
        council = getattr(request, "council", None)
        logger.error(
            "%s %s: database node %s did not answer (council %s)",
            request.method, request.path, node, council.slug if council else "none",
        )  # fmt: skip
        # Drop the connection (and the coordinator's cached connections to the node with it):
        # the next request starts afresh and works as soon as the node is back.
        if not connection.in_atomic_block:
            connection.close()
        # Rendered without context processors: they may read the database, which just failed.
        page = render_to_string(
            "tenants/node_unavailable.html",
            {"request": request, "council": council, "service_name": _service_name(council)},
        )
        response = HttpResponse(page, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        response._has_been_logged = True  # type: ignore[attr-defined] # logged above, once
        return response


def _service_name(council: object) -> str:
    return getattr(council, "name", None) or "Counterfoil"
