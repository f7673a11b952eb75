from allauth.socialaccount.models import SocialApp
from django.db import models

from tenants.models.council import Council


class IdentityProviderKind(models.TextChoices):
    ENTRA = "entra", "Microsoft Entra ID"
    GENERIC = "generic", "Another OpenID Connect provider"


class CouncilIdentityProvider(models.Model):
    """A council's own OpenID Connect provider, through which its members may sign in.

    The allauth SocialApp (public schema) holds what allauth needs (client id, issuer); this row
    says whose it is, how far to trust it, and keeps the client secret encrypted (the SocialApp's
    own secret column stays empty: tenants.social_account_adapter fills it in when used).
    """

    council = models.OneToOneField(
        Council, on_delete=models.CASCADE, related_name="identity_provider"
    )
    social_app = models.OneToOneField(
        SocialApp, on_delete=models.PROTECT, related_name="council_identity_provider"
    )
    kind = models.CharField(max_length=20, choices=IdentityProviderKind.choices)
    # What the sign-in page's button says: "Sign in with <name>".
    display_name = models.CharField(max_length=60)
    # Microsoft Entra ID: the directory (tenant) id, from which the issuer is made.
    entra_tenant_id = models.CharField(max_length=36, blank=True)
    issuer_url = models.URLField(max_length=300)
    # A Fernet token (tenants.secrets_at_rest); never shown again once saved.
    client_secret_encrypted = models.TextField()
    secret_ends_with = models.CharField(max_length=4, blank=True)
    enabled = models.BooleanField(default=True)
    # Skip our own second factor when the provider says it asked for one (`amr` holds "mfa").
    trust_provider_mfa = models.BooleanField(default=False)
    # People whose address is at this domain must sign in to this council through the provider.
    email_domain = models.CharField(max_length=253, blank=True)
    updated = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.display_name} for {self.council}"

    @property
    def provider_id(self) -> str:
        return self.social_app.provider_id
