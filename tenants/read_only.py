"""A suspended council is read-only, whatever the page.

Actions already refuse changes there (tenants.capabilities); this refuses every form post on a
suspended council's host up front, with the same page, so no page can forget to. Signing in
and out and the account pages stay open, and looking and exporting are GETs.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.template.loader import render_to_string

from tenants.capabilities import CouncilReadOnly
from tenants.models.council import CouncilStatus

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
OPEN_WHILE_SUSPENDED = ("/accounts/",)


def suspended_refusal(council_name: str) -> str:
    return f"{council_name} is suspended: you can look and export, but nothing can change."


class SuspendedCouncilMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        # Signing in and out, and what the platform's wiring adds (settings): money already
        # taken from citizens (GOV.UK Pay's webhooks) must still land while suspended.
        self.open_paths = (*OPEN_WHILE_SUSPENDED, *settings.OPEN_WHILE_SUSPENDED)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        council = getattr(request, "council", None)
        if (
            council is not None
            and council.status == CouncilStatus.SUSPENDED
            and request.method not in SAFE_METHODS
            and not request.path.startswith(self.open_paths)
        ):
            return HttpResponseForbidden(
                render_to_string(
                    "403.html",
                    {"exception": CouncilReadOnly(suspended_refusal(council.name))},
                    request=request,
                )
            )
        return self.get_response(request)
