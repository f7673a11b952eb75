"""The idle timeout: a session lives SESSION_COOKIE_AGE seconds past its last write, and a
signed-in person's activity writes it again, at most once every SESSION_REFRESH_SECONDS.

Django's SESSION_SAVE_EVERY_REQUEST would do the same with a database write on every page;
this costs one write a minute, and the timeout is exact to within that minute.
"""

import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

REFRESHED_AT = "_counterfoil_refreshed_at"


class SessionActivityMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.session_cookie = settings.SESSION_COOKIE_NAME
        self.refresh_seconds = settings.SESSION_REFRESH_SECONDS

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # Without a cookie there is no session to keep alive; an anonymous session (a
        # failed sign-in's) is not kept alive by browsing either.
        session = getattr(request, "session", None)
        if (
            self.session_cookie in request.COOKIES
            and session is not None
            and not session.is_empty()
        ):
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                now = int(time.time())
                if now - session.get(REFRESHED_AT, 0) >= self.refresh_seconds:
                    # Modifying the session makes SessionMiddleware save it and send the
                    # cookie again, both with a fresh expiry.
                    session[REFRESHED_AT] = now
        return response
