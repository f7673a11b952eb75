from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.models import EmailConfirmation
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from tenants.account_links import account_link, account_link_host
from tenants.actions.identity_providers import record_identity_provider_sign_in
from tenants.council_identity_providers import identity_provider_of, provider_required_for
from tenants.models import Council, Membership
from tenants.provider_mfa import PROVIDER_MFA_SESSION_KEY, identity_provider_sign_in

_ALLAUTH_SECOND_FACTOR_STAGE = "allauth.mfa.stages.AuthenticateStage"
_OUR_SECOND_FACTOR_STAGE = "tenants.provider_mfa.SecondFactorUnlessProviderMfaStage"


class InvitationOnlyAccountAdapter(DefaultAccountAdapter):
    """Nobody signs themselves up: people join a council by invitation.

    Also where sign-in security meets allauth: wrong passwords are counted per account (not per
    account and host), account emails link only to hosts the platform controls, and a council's
    host sends password resets only to its own members.
    """

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False

    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        # allauth counts wrong passwords per "<host>:<login>", so each of 400 councils' hosts
        # granted five more guesses: one count per account, whichever host is asked. (The
        # invitation page counts under the same key: tenants.views.onboarding.)
        return credentials.get("email", credentials.get("username", "")).strip().lower()

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        # An address at a domain bound to the council's identity provider signs in to this
        # council only through it (the provider decides who may, and with which factors). Said
        # of any such address, whether or not it has an account, so nothing is learnt.
        provider = provider_required_for(
            getattr(request, "council", None), credentials.get("email", "")
        )
        if provider is not None:
            raise ValidationError(
                f"People with an @{provider.email_domain} email address sign in to "
                f"{provider.council.name} with {provider.display_name}: use the “Sign in with "
                f"{provider.display_name}” button."
            )
        super().pre_authenticate(request, **credentials)

    def get_login_stages(self) -> list[str]:
        # Our second-factor stage knows when the council trusts its provider's MFA instead.
        return [
            _OUR_SECOND_FACTOR_STAGE if stage == _ALLAUTH_SECOND_FACTOR_STAGE else stage
            for stage in super().get_login_stages()
        ]

    def post_login(
        self, request: HttpRequest, user: AbstractBaseUser, **kwargs: Any
    ) -> HttpResponse:
        response = super().post_login(request, user, **kwargs)
        sign_in = identity_provider_sign_in(kwargs.get("signal_kwargs"))
        council = getattr(request, "council", None)
        provider = identity_provider_of(council) if sign_in else None
        if provider is not None and sign_in.get("user") == user.pk:
            provider_mfa = bool(sign_in.get("provider_mfa"))
            if provider_mfa:
                request.session[PROVIDER_MFA_SESSION_KEY] = user.pk
            record_identity_provider_sign_in(
                council=council,
                provider=provider,
                second_factor="provider" if provider_mfa else "counterfoil",
                acting_user=user,
            )
        return response

    def get_reset_password_from_key_url(self, key: str) -> str:
        path = reverse("account_reset_password_from_key", kwargs={"uidb36": "UID", "key": "KEY"})
        return account_link(self.request, path.replace("UID-KEY", quote(key)))

    def get_email_confirmation_url(
        self, request: HttpRequest, emailconfirmation: EmailConfirmation
    ) -> str:
        return account_link(request, reverse("account_confirm_email", args=[emailconfirmation.key]))

    def send_password_reset_mail(
        self, user: AbstractBaseUser, email: str, context: dict[str, Any]
    ) -> None:
        council = getattr(self.request, "council", None)
        if council is not None and not _is_member(user, council):
            # Not this council's to reset: nothing is sent, and the page says what it says for
            # any address, so whether the account exists stays unknown.
            return
        super().send_password_reset_mail(user, email, context)

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        # allauth's templates name the "site" (the request's host): name ours and the host the
        # links go to, never a host name the request chose.
        context = {
            **context,
            "current_site": SimpleNamespace(
                name="Counterfoil", domain=account_link_host(self.request)
            ),
        }
        super().send_mail(template_prefix, email, context)


def _is_member(user: AbstractBaseUser, council: Council) -> bool:
    return Membership.objects.filter(user_id=user.pk, council_id=council.pk).exists()


class KeepOneSecondFactorAdapter(DefaultMFAAdapter):
    """Every staff and operator role needs a second factor, so the last one cannot be removed
    (add another, then remove the old one)."""

    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        if authenticator.type == Authenticator.Type.RECOVERY_CODES:
            return True
        return (
            Authenticator.objects.filter(user_id=authenticator.user_id)
            .exclude(type=Authenticator.Type.RECOVERY_CODES)
            .exclude(pk=authenticator.pk)
            .exists()
        )
