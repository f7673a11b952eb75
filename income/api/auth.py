"""Bearer tokens of the host council's API clients.

The token is looked up only in the council the host names (the connection is already on its
schema), so a client of another council is unknown here: 404, as for a page that does not
exist, which says nothing of whether the API or that client exists elsewhere."""

from dataclasses import dataclass

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from income.actions.api_clients import count_call
from income.api.errors import ApiRefusal
from income.models import ApiClient, ApiClientSecret, ApiScope
from income.models.api_client import split_token
from tenants.models import Council

UNKNOWN_TOKEN = "No API client of this council has that token."  # noqa: S105 (a message)
# Slack over a path's upload limit for the multipart framing around the file.
FRAMING_BYTES = 64 * 1024


@dataclass(frozen=True)
class CallingClient:
    client: ApiClient
    council: Council


def _client_for(token: str) -> ApiClient:
    parts = split_token(token)
    secret_row = (
        ApiClientSecret.objects.select_related("client").filter(key_id=parts[0]).first()
        if parts
        else None
    )
    # Compared in constant time, and a wrong secret answers as an unknown key does.
    if secret_row is None or not secret_row.matches(parts[1]):
        raise ApiRefusal(404, UNKNOWN_TOKEN)
    client, now = secret_row.client, timezone.now()
    if client.revoked_at is not None:
        raise ApiRefusal(403, f"This API client ({client.name}) has been revoked.")
    if client.expires_at <= now:
        raise ApiRefusal(
            403,
            f"This API client ({client.name}) expired on "
            f"{timezone.localtime(client.expires_at):%-d %B %Y}: ask a council admin for a new "
            "one.",
        )
    if secret_row.retires_at is not None and secret_row.retires_at <= now:
        raise ApiRefusal(
            403,
            f"This secret of {client.name} was replaced and stopped working on "
            f"{timezone.localtime(secret_row.retires_at):%-d %B %Y at %H:%M}: use the new one.",
        )
    return client


def _refuse_declared_oversize(request: HttpRequest) -> None:
    """A body declared larger than the path takes is refused before any of it is read (one
    sent without a length is stopped while it streams in: tenants.upload_limits)."""
    limit = getattr(getattr(request.resolver_match, "func", None), "max_upload_bytes", None)
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if limit is not None and declared > limit + FRAMING_BYTES:
        raise ApiRefusal(
            413,
            f"The file is larger than {limit // (1024 * 1024)} MB, the largest this API "
            "takes: it was not read or kept.",
        )


class ClientToken(HttpBearer):
    """A live client of this council whose scopes include `scope` (None: any scope)."""

    def __init__(self, scope: ApiScope | None = None) -> None:
        super().__init__()
        self.scope = scope

    def authenticate(self, request: HttpRequest, token: str) -> CallingClient:
        council = getattr(request, "council", None)
        if council is None:
            raise ApiRefusal(404, UNKNOWN_TOKEN)
        client = _client_for(token)
        counted = count_call(client)
        if not counted.allowed:
            raise ApiRefusal(
                429,
                f"{client.name} may make {client.rate_limit_per_minute} requests a minute: "
                f"try again in {counted.retry_after_seconds} seconds.",
                headers={"Retry-After": str(counted.retry_after_seconds)},
            )
        if self.scope is not None and self.scope not in client.scopes:
            raise ApiRefusal(
                403,
                f"{client.name} does not have the {self.scope} scope this needs: a council "
                "admin can give it on the API clients page.",
            )
        _refuse_declared_oversize(request)
        return CallingClient(client, council)


def calling(request: HttpRequest) -> CallingClient:
    return request.auth  # type: ignore[attr-defined]
