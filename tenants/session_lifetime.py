"""How long a sign-in lasts.

Idle: a session expires SESSION_IDLE_SECONDS after the last request (Django's session age,
renewed by tenants.session_activity at most once a minute). Absolute: however busy,
a sign-in ends SESSION_ABSOLUTE_SECONDS after it began, and the person signs in again (with
their second factor), so a stolen session cookie is useful for a bounded time only.
"""

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse

SIGNED_IN_AT_SESSION_KEY = "counterfoil_signed_in_at"


class SessionLifetimeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.session_cookie = settings.SESSION_COOKIE_NAME
        self.absolute_seconds = settings.SESSION_ABSOLUTE_SECONDS

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
        return self.get_response(request)
