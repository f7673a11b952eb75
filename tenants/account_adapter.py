from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest


class InvitationOnlyAccountAdapter(DefaultAccountAdapter):
    """Nobody signs themselves up: people join a council by invitation."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False
