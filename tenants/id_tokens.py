"""Checking a council's identity provider's ID token, every time, with a reason a person can read.

allauth skips the signature of an ID token it fetched itself over TLS (OpenID Connect allows
that); we check it all the same, against the provider's published keys, with the issuer, the
audience, the expiry and a replay check, so a forged token is refused whatever the path it took.
Each refusal says what was wrong (a SignInRefused, which allauth shows on its error page).
"""

from typing import Any

import jwt
import requests
from allauth.socialaccount.internal import jwtkit
from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter

# What Microsoft Entra ID and most providers sign with; "none" and HMAC are never accepted.
SIGNING_ALGORITHMS = ["RS256"]
CLOCK_SKEW_SECONDS = 60
NOT_SIGNED_BY_PROVIDER = (
    "The identity provider's token is not signed with any of the provider's published keys, "
    "so it cannot be trusted."
)


class SignInRefused(OAuth2Error):
    """A sign-in through the provider refused, with a message for the person signing in."""


class VerifiedIdTokenAdapter(OpenIDConnectOAuth2Adapter):
    """allauth's OpenID Connect adapter, checking every ID token in full."""

    def _decode_id_token(self, app: SocialApp, id_token: str) -> dict[str, Any]:
        config = self.openid_config
        configured = app.settings.get("server_url", "").rstrip("/")
        if config.get("issuer", "").rstrip("/") != configured:
            raise SignInRefused(
                f"The provider at {configured} says it is {config.get('issuer')!r}: its "
                "discovery document must name the issuer configured for this council."
            )
        return verified_id_token(id_token, config=config, client_id=app.client_id)


def verified_id_token(token: str, *, config: dict[str, Any], client_id: str) -> dict[str, Any]:
    """The token's claims if it is signed by the provider's key, issued by the provider, for
    our client id, unexpired and not seen before; else SignInRefused."""
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise SignInRefused("The identity provider's token could not be read.") from None
    if header.get("alg") not in SIGNING_ALGORITHMS:
        raise SignInRefused(
            f"The identity provider's token is signed with {header.get('alg')!r}; only "
            f"{', '.join(SIGNING_ALGORITHMS)} is accepted."
        )
    try:
        _alg, key = jwtkit.fetch_key(token, config["jwks_uri"], jwtkit.lookup_kid_jwk)
    except (OAuth2Error, KeyError, jwt.PyJWTError):
        raise SignInRefused(NOT_SIGNED_BY_PROVIDER) from None
    except requests.RequestException:
        raise SignInRefused(
            "We could not fetch the identity provider's signing keys: try again shortly."
        ) from None
    try:
        claims = jwt.decode(
            token,
            key=key,
            algorithms=SIGNING_ALGORITHMS,
            issuer=config["issuer"],
            audience=client_id,
            leeway=CLOCK_SKEW_SECONDS,
            options={"require": ["iss", "aud", "exp", "iat", "sub"]},
        )
    except jwt.InvalidSignatureError:
        raise SignInRefused(NOT_SIGNED_BY_PROVIDER) from None
    except jwt.InvalidIssuerError:
        raise SignInRefused(
            f"The identity provider's token was issued by {unverified.get('iss')!r}, not by "
            f"{config['issuer']}, the issuer configured for this council."
        ) from None
    except jwt.InvalidAudienceError:
        raise SignInRefused(
            "The identity provider's token was issued to another application, not to this "
            "council's Counterfoil client ID."
        ) from None
    except jwt.ExpiredSignatureError:
        raise SignInRefused("The identity provider's token has expired: sign in again.") from None
    except jwt.PyJWTError as invalid:
        raise SignInRefused(f"The identity provider's token is not valid: {invalid}.") from None
    try:
        jwtkit.verify_jti(claims)
    except OAuth2Error:
        raise SignInRefused(
            "This token from the identity provider has been used already: sign in again."
        ) from None
    return claims
