"""Where links in account emails (password reset, email confirmation) point.

Never at the host the request came in on: a council's own host name is in the council's DNS,
so a reset asked for there would hand whoever controls that DNS the token of anyone whose
address was typed, a colleague at another council or an operator. Links go to a host the
platform controls: the council's own `<slug>.<PLATFORM_DOMAIN>` when asked on one of that
council's hosts (only its members get one: tenants.account_adapter), else the platform's host.
"""

from django.conf import settings
from django.http import HttpRequest

from tenants.actions.councils import council_host


def account_link_host(request: HttpRequest | None) -> str:
    council = getattr(request, "council", None)
    return council_host(council.slug) if council is not None else settings.PLATFORM_DOMAIN


def account_link(request: HttpRequest | None, path: str) -> str:
    """The absolute URL of `path` (starting with /) on the platform-controlled host."""
    scheme = "https" if settings.HTTPS else "http"
    port = f":{settings.PUBLIC_PORT}" if settings.PUBLIC_PORT else ""
    return f"{scheme}://{account_link_host(request)}{port}{path}"
