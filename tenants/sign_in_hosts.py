"""Passwords are typed only on hosts the platform controls.

A council's own host name (payments.northbrook.gov.uk) is in the council's DNS: whoever
controls that DNS can point the name at a server of their own, with a certificate of their
own. People are global (one password for every council they work for), so a sign-in or an
invitation accepted there would hand a colleague's password, or another council's, to that
DNS. The sign-in pages, password resets and invitations of a council's own host name are sent
to the council's `<slug>.<PLATFORM_DOMAIN>`; its citizen pages (the portal, GOV.UK Pay's
webhooks) stay where they are.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from tenants.actions.councils import council_host

# Where people type a password or use an account token.
ACCOUNT_PATHS = ("/accounts/", "/team/join/")


class SignInOnPlatformHostsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        council = getattr(request, "council", None)
        if council is not None and request.path.startswith(ACCOUNT_PATHS):
            platform_host = council_host(council.slug)
            if request.get_host().rsplit(":", 1)[0].lower().rstrip(".") != platform_host:
                scheme = "https" if settings.HTTPS else "http"
                port = f":{settings.PUBLIC_PORT}" if settings.PUBLIC_PORT else ""
                return HttpResponseRedirect(
                    f"{scheme}://{platform_host}{port}{request.get_full_path()}"
                )
        return self.get_response(request)
