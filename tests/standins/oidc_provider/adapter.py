"""What the stand-in says in its ID tokens, per client (its `data`): the authentication methods
(`amr`, e.g. ["pwd", "mfa"]), and, for the tests of refusals, a wrong issuer or audience."""

from collections.abc import Iterable
from typing import Any

from allauth.idp.oidc.adapter import DefaultOIDCAdapter
from allauth.idp.oidc.models import Client

IMPOSTOR_ISSUER = "https://impostor.example"
ANOTHER_AUDIENCE = "another-application"


class StandinProviderAdapter(DefaultOIDCAdapter):
    def populate_id_token(
        self, id_token: dict[str, Any], client: Client, scopes: Iterable[str], **kwargs: Any
    ) -> None:
        data = client.data or {}
        if data.get("amr"):
            id_token["amr"] = list(data["amr"])
        if data.get("mischief") == "wrong-issuer":
            id_token["iss"] = IMPOSTOR_ISSUER
        if data.get("mischief") == "wrong-audience":
            id_token["aud"] = ANOTHER_AUDIENCE
