"""A client marked `forged-signature` gets ID tokens whose signature is not the provider's: the
claims and the key id are the real ones, re-signed with a key nobody published (as an attacker
without the provider's key would have to)."""

import base64
import json
from collections.abc import Callable

import jwt
from allauth.idp.oidc.models import Client
from cryptography.hazmat.primitives.asymmetric import rsa
from django.http import HttpRequest, HttpResponse

_FORGERS_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _client_id(request: HttpRequest) -> str:
    if request.POST.get("client_id"):
        return request.POST["client_id"]
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic":
        return base64.b64decode(credentials).decode().partition(":")[0]
    return ""


class ForgedSignatureMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.endswith("/api/token") or response.status_code != 200:
            return response
        client = Client.objects.filter(id=_client_id(request)).first()
        if client is None or (client.data or {}).get("mischief") != "forged-signature":
            return response
        body = json.loads(response.content)
        genuine = body["id_token"]
        body["id_token"] = jwt.encode(
            jwt.decode(genuine, options={"verify_signature": False}),
            _FORGERS_KEY,
            algorithm="RS256",
            headers={"kid": jwt.get_unverified_header(genuine)["kid"]},
        )
        response.content = json.dumps(body).encode()
        response["Content-Length"] = str(len(response.content))
        return response
