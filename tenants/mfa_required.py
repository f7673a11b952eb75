"""Staff and operators use two-factor authentication before anything else.

A signed-in person on a council's host, or an operator on the platform's host, who has no
authenticator (TOTP or WebAuthn; recovery codes alone do not count) is sent to enrol one and
may reach nothing but the enrolment pages and signing out until they have.

Cheap on purpose, since it runs on every request: nothing is read for a request without a
session cookie; on a council's host the user was loaded knowing whether they have enrolled
(tenants.authentication); elsewhere their enrolment is looked up once (one indexed query) and
then remembered in their session. Visiting the two-factor pages forgets it, so removing an
authenticator there is seen on the next request.
"""

from collections.abc import Callable

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

ENROLLED_SESSION_KEY = "counterfoil_mfa_enrolled_user"

# Reachable before enrolment: the two-factor pages themselves (allauth asks for the password
# again before activating one, so reauthentication too), signing out, confirming an email
# address, following an invitation, static files and health checks.
OPEN_BEFORE_ENROLMENT = (
    "/accounts/2fa/",
    "/accounts/reauthenticate/",
    "/accounts/logout/",
    "/accounts/confirm-email/",
    "/team/join/",
    "/static/",
    "/health/",
    "/healthz",
    "/readyz",
)
TWO_FACTOR_PAGES = "/accounts/2fa/"


def needs_two_factor(request: HttpRequest) -> bool:
    """Whether this signed-in person must have MFA here: every council member on a council's
    host, and operators (and Django admin staff) on the platform's."""
    user = request.user
    if getattr(request, "council", None) is not None:
        return True
    return bool(user.platform_role or user.is_staff)


def has_authenticator(user_id: int) -> bool:
    return (
        Authenticator.objects.filter(user_id=user_id)
        .exclude(type=Authenticator.Type.RECOVERY_CODES)
        .exists()
    )


class MfaRequiredMiddleware:
    """Refuse everything but enrolment to a signed-in person without an authenticator.

    Comes after CouncilMembershipMiddleware: by then a council host's visitor is known to be a
    member, so only members (and operators) are sent to enrol.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.session_cookie = settings.SESSION_COOKIE_NAME

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self.session_cookie not in request.COOKIES or not request.user.is_authenticated:
            return self.get_response(request)
        path = request.path
        if path.startswith(TWO_FACTOR_PAGES):
            # An authenticator may be removed here: look again on the next request.
            request.session.pop(ENROLLED_SESSION_KEY, None)
            return self.get_response(request)
        user = request.user
        loaded = getattr(user, "mfa_enrolled", None)
        if loaded is True or not needs_two_factor(request):
            return self.get_response(request)
        if loaded is None and request.session.get(ENROLLED_SESSION_KEY) == user.pk:
            return self.get_response(request)
        if loaded is None and has_authenticator(user.pk):
            request.session[ENROLLED_SESSION_KEY] = user.pk
            return self.get_response(request)
        if path.startswith(OPEN_BEFORE_ENROLMENT):
            return self.get_response(request)
        messages.info(
            request,
            "Set up two-factor authentication before you continue: scan the code with an "
            "authenticator app and enter the six-digit code it shows.",
        )
        return HttpResponseRedirect(reverse("mfa_activate_totp"))
