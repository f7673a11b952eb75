"""API clients: a council's own systems calling /api/v1/ with a bearer token.

A token is `cfk_<key id>_<secret>`. Only the SHA-256 of the secret is kept (a 32-byte random
secret needs no slow hash: nobody can guess it, so the digest only has to be one-way), found
by its key id and compared in constant time. A client acts through a service identity of its
own (a user who cannot sign in, with an income officer's membership), so the existing actions
check its rights and write its name into their audit records.
"""

import hashlib
import hmac
import secrets

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

TOKEN_PREFIX = "cfk"  # noqa: S105 (a label, not a secret)


class ApiScope(models.TextChoices):
    RECEIPTS_READ = "receipts:read", "Read receipts, their allocations and journals"
    RECEIPTS_WRITE = "receipts:write", "Record receipts for money taken elsewhere"
    IMPORTS = "imports", "Upload payment files and read their summaries"
    EXPORTS = "exports", "List and download export files"
    SUSPENSE = "suspense", "Read suspense and allocate from it"
    REFUNDS = "refunds", "Raise refunds (a person approves them on the screen)"


def new_secret_token() -> tuple[str, str, str]:
    """(key id, secret, the whole token) for a new secret: shown once, never stored."""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return key_id, secret, f"{TOKEN_PREFIX}_{key_id}_{secret}"


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_token(token: str) -> tuple[str, str] | None:
    """(key id, secret) of a token in our format, or None."""
    prefix, _, rest = token.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != TOKEN_PREFIX or len(key_id) != 12 or not secret or len(secret) > 100:
        return None
    return key_id, secret


class ApiClient(models.Model):
    name = models.CharField(max_length=100, unique=True)
    scopes = ArrayField(models.CharField(max_length=30, choices=ApiScope.choices))
    expires_at = models.DateTimeField()
    # Requests per fixed minute window (income.actions.api_clients.count_call).
    rate_limit_per_minute = models.PositiveIntegerField(default=600)
    # Who the client acts as: a public-schema user that cannot sign in (the one kind of key a
    # council table may hold to the public schema).
    service_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by_email = models.CharField(max_length=254, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by_email = models.CharField(max_length=254, blank=True)
    # Use: the current rate-limit window, and in place of an audit record per read (a search
    # would write as much as it reads), when it was last used and how often.
    window_started_at = models.DateTimeField(null=True, blank=True)
    window_calls = models.PositiveIntegerField(default=0)
    last_used_at = models.DateTimeField(null=True, blank=True)
    calls_total = models.BigIntegerField(default=0)
    refused_total = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"API client {self.name}"


class ApiClientSecret(models.Model):
    """One secret of a client. Rotating adds a new one; the old one works until `retires_at`."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="secrets")
    key_id = models.CharField(max_length=12, unique=True)
    secret_sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    retires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{TOKEN_PREFIX}_{self.key_id}_…"

    def matches(self, secret: str) -> bool:
        return hmac.compare_digest(secret_digest(secret), self.secret_sha256)


class ApiIdempotencyKey(models.Model):
    """A write a client made with an Idempotency-Key: the same key and request again gets the
    first answer; the same key with another request is refused."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    operation = models.CharField(max_length=50)
    request_sha256 = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "key"], name="one_answer_per_client_key")
        ]

    def __str__(self) -> str:
        return f"{self.operation} {self.key}"
