"""A council may trust its identity provider's own MFA instead of asking for ours.

When the council says so and the provider's ID token says it asked for a second factor (`amr`
holds "mfa"), a sign-in through it skips our code (allauth's second-factor stage) and, for a
member who never enrolled one of ours, the enrolment every other sign-in requires. Only that
sign-in: the session remembers it for the person it was made for, and a password sign-in never
has it. Otherwise everything is as for a password: our TOTP (or security key) is asked.
"""

from typing import Any

from allauth.mfa.stages import AuthenticateStage
from django.http import HttpRequest, HttpResponse

from tenants.mfa_required import MfaRequiredMiddleware

# In a SocialLogin's state: {"council": pk, "user": pk, "provider_mfa": bool}, set once the
# sign-in has passed every check (tenants.social_account_adapter).
SIGN_IN_STATE_KEY = "counterfoil_identity_provider"
# In the session, once signed in: the user whose second factor the provider vouched for.
PROVIDER_MFA_SESSION_KEY = "counterfoil_provider_mfa_user"


def identity_provider_sign_in(signal_kwargs: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the adapter recorded about this sign-in through a council's provider, if it was one.
    (The SocialLogin is itself, or its serialised form once the sign-in waited for a code.)"""
    sociallogin = (signal_kwargs or {}).get("sociallogin")
    if sociallogin is None:
        return None
    state = sociallogin.get("state") if isinstance(sociallogin, dict) else sociallogin.state
    return (state or {}).get(SIGN_IN_STATE_KEY)


class SecondFactorUnlessProviderMfaStage(AuthenticateStage):
    """allauth's second-factor stage, skipped when the council trusts the provider's MFA claim
    and the provider made it for this sign-in."""

    def _should_handle(self, request: HttpRequest) -> bool:
        sign_in = identity_provider_sign_in(self.login.signal_kwargs)
        if (
            sign_in
            and sign_in.get("provider_mfa")
            and self.login.user is not None
            and sign_in.get("user") == self.login.user.pk
        ):
            return False
        return super()._should_handle(request)


class MfaRequiredUnlessProviderMfaMiddleware(MfaRequiredMiddleware):
    """Enrolment in our second factor is not required of a session whose sign-in the council's
    provider made with its own MFA (trusted by the council)."""

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            self.session_cookie in request.COOKIES
            and request.user.is_authenticated
            and getattr(request, "council", None) is not None
            and request.session.get(PROVIDER_MFA_SESSION_KEY) == request.user.pk
        ):
            return self.get_response(request)
        return super().__call__(request)
