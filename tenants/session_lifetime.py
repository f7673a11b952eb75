"""How long a sign-in lasts.

Idle: a session expires SESSION_IDLE_SECONDS (Django's session age) after it was last saved,
and a signed-in person's session is saved again once SESSION_REFRESH_SECONDS have passed since
its last save: so it ends between the idle timeout less a minute and the idle timeout after the
last request, for one write a minute rather than one per request. Absolute: however busy, a
sign-in ends SESSION_ABSOLUTE_SECONDS after it began, and the person signs in again (with their
second factor), so a stolen session cookie is useful for a bounded time only.
"""

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse

SIGNED_IN_AT_SESSION_KEY = "counterfoil_signed_in_at"
REFRESHED_AT_SESSION_KEY = "counterfoil_refreshed_at"


class SessionLifetimeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.session_cookie = settings.SESSION_COOKIE_NAME
        self.absolute_seconds = settings.SESSION_ABSOLUTE_SECONDS
        self.refresh_seconds = settings.SESSION_REFRESH_SECONDS

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self.session_cookie not in request.COOKIES or not request.user.is_authenticated:
            return self.get_response(request)
        now = int(time.time())
        signed_in_at = request.session.get(SIGNED_IN_AT_SESSION_KEY)
        if signed_in_at is None:
            # The first request of this sign-in (signing in starts a fresh session).
            request.session[SIGNED_IN_AT_SESSION_KEY] = now
        elif now - signed_in_at > self.absolute_seconds:
            logout(request)
            messages.info(request, "You have been signed out for your security. Sign in again.")
            return redirect_to_login(request.get_full_path())
        if now - request.session.get(REFRESHED_AT_SESSION_KEY, 0) >= self.refresh_seconds:
            # Changing it marks the session modified: saved with a fresh idle expiry.
            request.session[REFRESHED_AT_SESSION_KEY] = now
        return self.get_response(request)
