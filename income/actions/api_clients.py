"""API clients: a council admin creates, rotates and revokes them; each call is counted
against the client's rate limit; each write is answered once per Idempotency-Key."""

import datetime
import math
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.text import slugify

from income.models import (
    ApiClient,
    ApiClientSecret,
    ApiIdempotencyKey,
    ApiScope,
    FundGroup,
    FundGroupAccess,
)
from income.models.api_client import new_secret_token, secret_digest
from tenants.audit.recording import record_audit
from tenants.capabilities import Capability, require_council_capability
from tenants.models import Council, CouncilRole, Membership, User

LONGEST_LIFE = datetime.timedelta(days=2 * 366)
WINDOW_SECONDS = 60
# The role a client acts in: its scopes narrow it further, and it can never approve (a refund,
# a cash-up) or configure anything, which stay people's acts on the screen.
SERVICE_ROLE = CouncilRole.INCOME_OFFICER


@dataclass(frozen=True)
class IssuedSecret:
    client: ApiClient
    token: str  # shown once, never stored


@transaction.atomic
def create_api_client(
    *,
    council: Council,
    name: str,
    scopes: Collection[str],
    expires_at: datetime.datetime,
    rate_limit_per_minute: int,
    acting_user: User,
) -> IssuedSecret:
    require_council_capability(acting_user, council, Capability.MANAGE_INTEGRATIONS)
    name = " ".join(name.split())
    _check_settings(name=name, scopes=scopes, expires_at=expires_at, rate=rate_limit_per_minute)
    if ApiClient.objects.filter(name__iexact=name).exists():
        raise ValidationError(f"There is already a client called “{name}”: choose another name.")
    service_user = _new_service_user(council, name)
    client = ApiClient.objects.create(
        name=name,
        scopes=sorted(set(scopes)),
        expires_at=expires_at,
        rate_limit_per_minute=rate_limit_per_minute,
        service_user=service_user,
        created_by_email=acting_user.email,
    )
    issued = _issue_secret(client)
    record_audit(
        "api_client.created",
        acting_user=acting_user,
        target=client,
        after={
            "name": name,
            "scopes": client.scopes,
            "expires_at": expires_at.isoformat(),
            "rate_limit_per_minute": rate_limit_per_minute,
            "acts_as": service_user.email,
        },
    )
    return issued


def _check_settings(
    *, name: str, scopes: Collection[str], expires_at: datetime.datetime, rate: int
) -> None:
    problems = []
    if not name:
        problems.append("Enter a name for the client.")
    if not scopes or set(scopes) - set(ApiScope.values):
        problems.append("Choose at least one of the scopes listed.")
    now = timezone.now()
    if expires_at <= now:
        problems.append("The expiry date must be in the future.")
    elif expires_at > now + LONGEST_LIFE:
        problems.append("A client lasts at most two years: choose an earlier expiry date.")
    if not 1 <= rate <= 100_000:
        problems.append("The rate limit must be between 1 and 100,000 requests a minute.")
    if problems:
        raise ValidationError(problems)


def _new_service_user(council: Council, name: str) -> User:
    """The user the client acts as: its email carries the client's name into every audit
    record and journal it writes; it has no password and is inactive, so nobody signs in
    as it."""
    token = new_secret_token()[0][:8]
    email = f"{slugify(name)[:40] or 'client'}.{token}@api-clients.{council.slug}.invalid"
    user = User.objects.create_user(email=email, password=None, full_name=f"API client: {name}")
    user.is_active = False
    user.save(update_fields=["is_active"])
    Membership.objects.create(user=user, council=council, role=SERVICE_ROLE)
    return user


def _issue_secret(client: ApiClient) -> IssuedSecret:
    key_id, secret, token = new_secret_token()
    ApiClientSecret.objects.create(
        client=client, key_id=key_id, secret_sha256=secret_digest(secret)
    )
    return IssuedSecret(client, token)


@transaction.atomic
def rotate_api_client_secret(
    *, council: Council, client: ApiClient, overlap: datetime.timedelta, acting_user: User
) -> IssuedSecret:
    """A new secret; those it replaces keep working for `overlap` (while the systems that use
    them are given the new one), then stop."""
    require_council_capability(acting_user, council, Capability.MANAGE_INTEGRATIONS)
    client = ApiClient.objects.select_for_update().get(pk=client.pk)
    if client.revoked_at is not None:
        raise ValidationError("This client has been revoked: create a new one instead.")
    if not datetime.timedelta(0) <= overlap <= datetime.timedelta(days=7):
        raise ValidationError("The old secret can keep working for at most 7 days.")
    retires_at = timezone.now() + overlap
    client.secrets.filter(retires_at__isnull=True).update(retires_at=retires_at)
    client.secrets.filter(retires_at__gt=retires_at).update(retires_at=retires_at)
    issued = _issue_secret(client)
    record_audit(
        "api_client.rotated",
        acting_user=acting_user,
        target=client,
        after={"old_secrets_work_until": retires_at.isoformat()},
    )
    return issued


@transaction.atomic
def revoke_api_client(*, council: Council, client: ApiClient, acting_user: User) -> ApiClient:
    """Stop the client at once: its secrets no longer work and its service identity loses
    its membership, so nothing it holds can act for the council again."""
    require_council_capability(acting_user, council, Capability.MANAGE_INTEGRATIONS)
    client = ApiClient.objects.select_for_update().get(pk=client.pk)
    if client.revoked_at is not None:
        raise ValidationError("This client has already been revoked.")
    client.revoked_at, client.revoked_by_email = timezone.now(), acting_user.email
    client.save(update_fields=["revoked_at", "revoked_by_email"])
    Membership.objects.filter(user_id=client.service_user_id, council=council).delete()
    record_audit("api_client.revoked", acting_user=acting_user, target=client)
    return client


@dataclass(frozen=True)
class CallCount:
    allowed: bool
    retry_after_seconds: int


# One statement per call, in a fixed window per client. The SET expressions all read the row
# as it was, so the window restarts (and counts one) once a minute has passed. The time is
# a parameter, not now(), and the window's start too: Citus refuses a function that is not
# immutable (now(), timestamp arithmetic) inside CASE in an UPDATE.
_COUNT_CALL = """
UPDATE income_apiclient SET
    window_calls = CASE WHEN window_started_at > %(window_open)s
        THEN window_calls + 1 ELSE 1 END,
    window_started_at = CASE WHEN window_started_at > %(window_open)s
        THEN window_started_at ELSE %(now)s END,
    refused_total = refused_total + CASE
        WHEN window_started_at > %(window_open)s
            AND window_calls >= rate_limit_per_minute THEN 1 ELSE 0 END,
    calls_total = calls_total + 1,
    last_used_at = %(now)s
WHERE id = %(client)s
RETURNING window_calls <= rate_limit_per_minute, window_started_at
"""


def count_call(client: ApiClient) -> CallCount:
    """Count one call against the client's limit (and as its use: when, how many)."""
    with transaction.atomic(), connection.cursor() as cursor:
        # A count lost in a crash costs nothing: do not wait for the disk on every request.
        cursor.execute("SET LOCAL synchronous_commit TO OFF")
        now = timezone.now()
        window_open = now - datetime.timedelta(seconds=WINDOW_SECONDS)
        cursor.execute(_COUNT_CALL, {"client": client.pk, "now": now, "window_open": window_open})
        allowed, window_started_at = cursor.fetchone()
    seconds_left = (window_started_at - window_open).total_seconds()
    return CallCount(bool(allowed), max(1, math.ceil(seconds_left)))


def acting_identity(client: ApiClient, council: Council) -> User:
    """The service identity, for an action: it works every fund group (the client is the
    council's own system, not one team's), including any made since the last call. Refused if
    an admin removed its membership (the action would refuse it anyway, less clearly)."""
    user = client.service_user
    if not Membership.objects.filter(user=user, council=council).exists():
        raise PermissionDenied(
            f"{client.name} has no membership at {council.name} any more: ask a council admin "
            "to revoke it and create a new client."
        )
    missing = FundGroup.objects.exclude(access__user=user)
    FundGroupAccess.objects.bulk_create(
        [FundGroupAccess(user=user, group=group) for group in missing], ignore_conflicts=True
    )
    return user


@dataclass(frozen=True)
class Answer:
    status_code: int
    body: dict[str, Any]
    replayed: bool


class IdempotencyKeyReused(ValidationError):
    """The key was used before for a different request."""


def answer_once(
    *,
    client: ApiClient,
    key: str,
    operation: str,
    request_sha256: str,
    run: Callable[[], tuple[int, dict[str, Any]]],
) -> Answer:
    """`run()` (an action and its answer) once per client and key: the same request again gets
    the first answer, changing nothing; another request with the key is refused. A request
    that fails (refused by the action) keeps no answer, so it may be mended and sent again
    with the same key."""
    try:
        with transaction.atomic():
            earlier = ApiIdempotencyKey.objects.filter(client=client, key=key).first()
            if earlier is not None:
                return _replayed(earlier, operation, request_sha256)
            status_code, body = run()
            # Two requests with one key at once: the second waits here for the first to
            # commit, then fails, and everything it did is rolled back with it.
            ApiIdempotencyKey.objects.create(
                client=client, key=key, operation=operation, request_sha256=request_sha256,
                status_code=status_code, response=body,
            )  # fmt: skip
            return Answer(status_code, body, replayed=False)
    except IntegrityError:
        earlier = ApiIdempotencyKey.objects.filter(client=client, key=key).first()
        if earlier is None:
            raise
        return _replayed(earlier, operation, request_sha256)


def _replayed(earlier: ApiIdempotencyKey, operation: str, request_sha256: str) -> Answer:
    if earlier.operation != operation or earlier.request_sha256 != request_sha256:
        when = timezone.localtime(earlier.created_at)
        raise IdempotencyKeyReused(
            f"This Idempotency-Key was already used on {when:%-d %B %Y at %H:%M:%S} for a "
            "different request: send a new key with each new request (the same key only to "
            "repeat the very same request)."
        )
    return Answer(earlier.status_code, earlier.response, replayed=True)
