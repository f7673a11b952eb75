"""Which identity provider a council's host offers, and who must use it (read-only look-ups)."""

from allauth.socialaccount.models import SocialApp

from tenants.models import Council, CouncilIdentityProvider
from tenants.secrets_at_rest import decrypt


def identity_provider_of(council: Council | None) -> CouncilIdentityProvider | None:
    """The council's identity provider if it is switched on (never another council's)."""
    if council is None:
        return None
    return (
        CouncilIdentityProvider.objects.select_related("social_app")
        .filter(council=council, enabled=True)
        .first()
    )


def provider_required_for(council: Council | None, email: str) -> CouncilIdentityProvider | None:
    """The provider an address must sign in to this council through: its domain is bound to it."""
    domain = email.strip().rpartition("@")[2].lower().rstrip(".")
    provider = identity_provider_of(council) if domain else None
    if provider is not None and provider.email_domain and provider.email_domain == domain:
        return provider
    return None


def social_app_with_secret(provider: CouncilIdentityProvider) -> SocialApp:
    """The provider's allauth app with its client secret filled in (in memory only)."""
    app = provider.social_app
    app.secret = decrypt(provider.client_secret_encrypted)
    return app
