"""A council's own identity provider (OpenID Connect): its admins set it up, change or remove
it; members' sign-ins through it, and the ones it refuses, are audited here.

The provider is an allauth SocialApp in the public schema (provider `openid_connect`, its
`provider_id` the council's slug) with a CouncilIdentityProvider beside it saying whose it is.
Every change is recorded in the council's own audit log in the same transaction; the client
secret never appears there, nor on any page once saved.
"""

import ipaddress
import re
import socket
import uuid
from typing import Any
from urllib.parse import urlsplit

from allauth.socialaccount.models import SocialAccount, SocialApp
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django_tenants.utils import get_public_schema_name, schema_context

from tenants.audit.recording import record_audit_in
from tenants.capabilities import Capability, require_council_capability
from tenants.models import Council, CouncilIdentityProvider, IdentityProviderKind, User
from tenants.secrets_at_rest import encrypt

ENTRA_ISSUER = "https://login.microsoftonline.com/{tenant_id}/v2.0"
# Entra's shared endpoints accept any organisation's (or anyone's) Microsoft account.
ENTRA_SHARED_TENANTS = frozenset({"common", "organizations", "consumers"})
WELL_KNOWN = "/.well-known/openid-configuration"
_DOMAIN = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def save_identity_provider(
    *,
    council: Council,
    kind: str,
    display_name: str,
    entra_tenant_id: str = "",
    issuer_url: str = "",
    client_id: str,
    client_secret: str = "",
    trust_provider_mfa: bool = False,
    email_domain: str = "",
    enabled: bool = True,
    acting_user: User,
) -> CouncilIdentityProvider:
    """Set up the council's identity provider, or change it. A blank `client_secret` keeps the
    one saved before (it is never shown, so the form cannot send it back). A refusal names the
    argument it is about (ValidationError with a dict)."""
    require_council_capability(acting_user, council, Capability.MANAGE_MEMBERS)
    existing = CouncilIdentityProvider.objects.filter(council=council).first()
    if kind not in IdentityProviderKind.values:
        raise ValidationError({"kind": "Choose which kind of identity provider the council uses."})
    if kind == IdentityProviderKind.ENTRA:
        entra_tenant_id = _entra_tenant_id(entra_tenant_id)
        issuer_url = ENTRA_ISSUER.format(tenant_id=entra_tenant_id)
    else:
        entra_tenant_id = ""
        issuer_url = _issuer_url(issuer_url)
    display_name = " ".join(display_name.split())
    if not display_name:
        raise ValidationError(
            {"display_name": "Enter the name people know the provider by, like Microsoft."}
        )
    client_id = client_id.strip()
    if not client_id or len(client_id) > 191:
        raise ValidationError(
            {"client_id": "Enter the client (application) ID the provider gave Counterfoil."}
        )
    client_secret = client_secret.strip()
    if existing is None and not client_secret:
        raise ValidationError(
            {"client_secret": "Enter the client secret the provider gave Counterfoil."}
        )
    email_domain = _email_domain(email_domain)

    with schema_context(get_public_schema_name()), transaction.atomic():
        before = _described(existing) if existing else None
        app = existing.social_app if existing else SocialApp(provider="openid_connect")
        moved = existing is not None and (
            app.client_id != client_id or existing.issuer_url != issuer_url
        )
        app.provider_id = council.slug
        app.name = display_name
        app.client_id = client_id
        app.secret = ""  # kept encrypted on the CouncilIdentityProvider instead
        # Claims are read from the signed ID token only (the userinfo endpoint is unsigned, and
        # Entra's answers for Microsoft Graph, without `email_verified`).
        app.settings = {"server_url": issuer_url, "fetch_userinfo": False}
        app.save()
        provider = existing or CouncilIdentityProvider(council=council, social_app=app)
        provider.kind = kind
        provider.display_name = display_name
        provider.entra_tenant_id = entra_tenant_id
        provider.issuer_url = issuer_url
        if client_secret:
            provider.client_secret_encrypted = encrypt(client_secret)
            provider.secret_ends_with = client_secret[-4:] if len(client_secret) > 8 else ""
        provider.trust_provider_mfa = trust_provider_mfa
        provider.email_domain = email_domain
        provider.enabled = enabled
        provider.save()
        if moved:
            # Another provider's subject ids mean other people: forget who was linked.
            SocialAccount.objects.filter(provider=app.provider_id).delete()
        record_audit_in(
            council.schema_name,
            "identity_provider.changed" if existing else "identity_provider.configured",
            acting_user=acting_user,
            target=provider,
            before=before,
            after={
                **_described(provider),
                "client_secret": "replaced" if client_secret else "kept",
            },
        )
    return provider


def remove_identity_provider(*, council: Council, acting_user: User) -> None:
    """Members sign in with their password (and second factor) again."""
    require_council_capability(acting_user, council, Capability.MANAGE_MEMBERS)
    with schema_context(get_public_schema_name()), transaction.atomic():
        provider = (
            CouncilIdentityProvider.objects.select_for_update()
            .select_related("social_app")
            .filter(council=council)
            .first()
        )
        if provider is None:
            raise ValidationError(f"{council.name} has no identity provider to remove.")
        record_audit_in(
            council.schema_name,
            "identity_provider.removed",
            acting_user=acting_user,
            target=provider,
            before=_described(provider),
        )
        app = provider.social_app
        SocialAccount.objects.filter(provider=app.provider_id).delete()
        provider.delete()
        app.delete()


def record_identity_provider_sign_in(
    *, council: Council, provider: CouncilIdentityProvider, second_factor: str, acting_user: User
) -> None:
    """A member signed in through the council's provider (`second_factor`: "provider" when its
    MFA claim was trusted, "counterfoil" when ours was asked or must now be enrolled)."""
    record_audit_in(
        council.schema_name,
        "identity_provider.signed_in",
        acting_user=acting_user,
        target=provider,
        after={"provider": provider.display_name, "second_factor": second_factor},
    )


def record_identity_provider_refusal(
    *, council: Council, claimed_email: str, reason: str, acting_user: User | None = None
) -> None:
    """A sign-in through the provider was refused: who it claimed to be, and why."""
    provider = CouncilIdentityProvider.objects.filter(council=council).first()
    record_audit_in(
        council.schema_name,
        "identity_provider.sign_in_refused",
        acting_user=acting_user,
        target=provider,
        after={"claimed_email": claimed_email[:254]},
        reason=reason,
    )


def _described(provider: CouncilIdentityProvider) -> dict[str, Any]:
    return {
        "kind": provider.kind,
        "display_name": provider.display_name,
        "issuer_url": provider.issuer_url,
        "client_id": provider.social_app.client_id,
        "enabled": provider.enabled,
        "trust_provider_mfa": provider.trust_provider_mfa,
        "email_domain": provider.email_domain,
    }


def _entra_tenant_id(value: str) -> str:
    value = value.strip().lower()
    if value in ENTRA_SHARED_TENANTS:
        raise ValidationError(
            {
                "entra_tenant_id": f"Enter your own directory's tenant ID, not “{value}”: that "
                "would let people from any organisation try to sign in."
            }
        )
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ValidationError(
            {
                "entra_tenant_id": "Enter the tenant ID as Entra shows it, like "
                "72f988bf-86f1-41af-91ab-2d7cd011db47."
            }
        ) from None


def _issuer_url(value: str) -> str:
    """The issuer, without its discovery path: https on a public address (except in the demo)."""
    value = value.strip()
    if value.endswith(WELL_KNOWN):
        value = value[: -len(WELL_KNOWN)]
    value = value.rstrip("/")
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
    except ValueError:
        parts, host = None, ""
    if parts is None or not host or parts.query or parts.fragment or parts.username:
        raise ValidationError(
            {"issuer_url": "Enter the provider's issuer URL, like https://id.example.gov.uk"}
        )
    insecure_allowed = settings.SSO_INSECURE_ISSUERS or settings.DEBUG
    if parts.scheme != "https" and not (parts.scheme == "http" and insecure_allowed):
        raise ValidationError({"issuer_url": "The issuer URL must start with https://"})
    if not insecure_allowed:
        _refuse_private_addresses(host)
    return value


def _refuse_private_addresses(host: str) -> None:
    # Counterfoil fetches the provider's discovery document and keys itself: never from inside
    # our own network (server-side request forgery).
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, 443, type=socket.SOCK_STREAM)}
    except (OSError, UnicodeError):
        raise ValidationError(
            {"issuer_url": f"We could not find {host}: check the issuer URL."}
        ) from None
    if not all(ipaddress.ip_address(address.split("%")[0]).is_global for address in addresses):
        raise ValidationError(
            {
                "issuer_url": f"{host} is a private or local address: the issuer must be "
                "reachable on the internet."
            }
        )


def _email_domain(value: str) -> str:
    value = value.strip().lower().lstrip("@").rstrip(".")
    if value and not _DOMAIN.fullmatch(value):
        raise ValidationError(
            {"email_domain": "Enter an email domain like northbrook.gov.uk, or leave it empty."}
        )
    return value
