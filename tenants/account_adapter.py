from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from django.http import HttpRequest


class InvitationOnlyAccountAdapter(DefaultAccountAdapter):
    """Nobody signs themselves up: people join a council by invitation."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False


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
