"""A session belongs to the host it began on.

Session cookies are host-only, but sessions live in one table (the public schema), so a cookie
value taken from one council's host would otherwise be a sign-in on any other host where the
same person is a member (shared-services staff work for two councils), and a half-finished
sign-in (password given, code not yet) could be finished on another host. Each session records
its host when it is first written; on any other host it is ignored (the request starts with a
fresh, empty session) and left as it was for its own host.
"""

from collections.abc import Callable
from importlib import import_module

from django.conf import settings
from django.http import HttpRequest, HttpResponse

HOST_SESSION_KEY = "counterfoil_host"


def request_hostname(request: HttpRequest) -> str:
    return request.get_host().rsplit(":", 1)[0].lower().rstrip(".")


class SessionHostMiddleware:
    """Comes straight after Django's SessionMiddleware, before anything reads the user."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.session_cookie = settings.SESSION_COOKIE_NAME
        self.session_store = import_module(settings.SESSION_ENGINE).SessionStore

    def __call__(self, request: HttpRequest) -> HttpResponse:
        host = request_hostname(request)
        if self.session_cookie in request.COOKIES:
            bound = request.session.get(HOST_SESSION_KEY)
            if bound is not None and bound != host:
                request.session = self.session_store()
        response = self.get_response(request)
        session = request.session
        # Written this request (a sign-in, a pending second factor, a message): bind it.
        if session.modified and not session.is_empty() and HOST_SESSION_KEY not in session:
            session[HOST_SESSION_KEY] = host
        return response
