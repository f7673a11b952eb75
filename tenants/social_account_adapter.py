"""Signing in through the council's own identity provider: only its members, only on its host.

A council's host offers its own provider and no other (another council's app is simply not
found there, and the platform's host offers none). The provider only vouches for who someone
is: the person gets in only if the signed ID token carries an email address the provider has
verified, and that address is verified here and belongs to a member of this council. Nobody is
ever signed up or made a member this way. Every refusal is audited and says why.
"""

from typing import Any

from allauth.core import context
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp, SocialLogin
from allauth.socialaccount.providers.base.constants import AuthError
from django.http import HttpRequest
from django.shortcuts import render

from tenants.actions.identity_providers import record_identity_provider_refusal
from tenants.council_identity_providers import identity_provider_of, social_app_with_secret
from tenants.id_tokens import SignInRefused
from tenants.models import Council, User
from tenants.provider_mfa import SIGN_IN_STATE_KEY

SOMETHING_WENT_WRONG = (
    "Signing in with your council's identity provider did not work. Try again, or sign in with "
    "your email address and password."
)


class CouncilSocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        return False

    def list_apps(
        self, request: HttpRequest | None, provider: str | None = None, client_id: str | None = None
    ) -> list[SocialApp]:
        request = request or context.request
        identity_provider = identity_provider_of(getattr(request, "council", None))
        if identity_provider is None:
            return []
        app = identity_provider.social_app
        if provider and provider not in (app.provider, app.provider_id):
            return []
        if client_id and client_id != app.client_id:
            return []
        return [social_app_with_secret(identity_provider)]

    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        council = getattr(request, "council", None)
        identity_provider = identity_provider_of(council)
        claims = (sociallogin.account.extra_data or {}).get("id_token") or {}
        email = str(claims.get("email") or "").strip()
        if (
            council is None
            or identity_provider is None
            or sociallogin.account.provider != identity_provider.provider_id
        ):
            _refuse(request, council, email, "This council does not sign people in this way.")
        name = identity_provider.display_name
        if not email:
            _refuse(
                request,
                council,
                email,
                f"{name} did not tell us your email address, so we cannot tell who you are. "
                "Ask your IT team to include the email claim.",
            )
        if not _email_verified(claims):
            _refuse(
                request,
                council,
                email,
                f"{name} has not verified the email address {email}, so it cannot be used to "
                "sign in. Ask your IT team to verify it.",
            )
        user = _member_with_verified_email(council, email)
        if user is None:
            _refuse(
                request,
                council,
                email,
                f"{email} is not a member of {council.name}. Signing in with {name} does not "
                f"make you one: ask one of {council.name}'s admins to invite you.",
            )
        if sociallogin.is_existing and sociallogin.user.pk != user.pk:
            _refuse(
                request,
                council,
                email,
                f"Your {name} account is linked to another person here: ask one of "
                f"{council.name}'s admins.",
            )
        amr = claims.get("amr") or []
        sociallogin.state[SIGN_IN_STATE_KEY] = {
            "council": council.pk,
            "user": user.pk,
            "provider_mfa": bool(
                identity_provider.trust_provider_mfa and isinstance(amr, list) and "mfa" in amr
            ),
        }
        if not sociallogin.is_existing:
            # Remember the provider's subject id for this person (never a new person).
            sociallogin.connect(request, user)

    def on_authentication_error(
        self,
        request: HttpRequest,
        provider: Any,
        error: Any = None,
        exception: Exception | None = None,
        extra_context: dict[str, Any] | None = None,
    ) -> None:
        reason = str(exception) if isinstance(exception, SignInRefused) else SOMETHING_WENT_WRONG
        council = getattr(request, "council", None)
        if council is not None and error != AuthError.CANCELLED:  # a change of mind is no news
            record_identity_provider_refusal(
                council=council, claimed_email="", reason=reason, acting_user=None
            )
        if extra_context is not None:
            extra_context["refusal"] = reason


def _email_verified(claims: dict[str, Any]) -> bool:
    # OpenID Connect's own claim; Microsoft Entra ID sends none unless asked, but its optional
    # `xms_edov` claim says the address's domain owner verified it.
    return any(claims.get(name) in (True, "true") for name in ("email_verified", "xms_edov"))


def _member_with_verified_email(council: Council, email: str) -> User | None:
    return (
        User.objects.filter(
            is_active=True,
            emailaddress__email__iexact=email,
            emailaddress__verified=True,
            memberships__council=council,
        )
        .distinct()
        .first()
    )


def _refuse(request: HttpRequest, council: Council | None, email: str, reason: str) -> None:
    if council is not None:
        record_identity_provider_refusal(
            council=council, claimed_email=email, reason=reason, acting_user=None
        )
    raise ImmediateHttpResponse(
        render(
            request,
            "socialaccount/authentication_error.html",
            {"refusal": reason, "identity_provider": identity_provider_of(council)},
            status=403,
        )
    )
