"""Which GOV.UK Pay service to use, and a client for it; webhook secrets cached per process."""

import time
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.db import connection as db_connection

from income.govuk_pay.client import GovukPayClient, GovukPayError
from income.models import Fund, GovukPayConnection
from tenants.secrets_at_rest import decrypt

# Observers of every HTTP exchange with GOV.UK Pay (httpx event hooks: "request" and
# "response" lists). The tests add one that validates each exchange against GOV.UK Pay's
# OpenAPI description; nothing is registered in production.
EXCHANGE_OBSERVERS: dict[str, list[Callable[..., Any]]] = {"request": [], "response": []}

SECRETS_CACHE_SECONDS = 5.0
_secrets_cache: dict[str, tuple[float, list[tuple[int, str]]]] = {}


class GovukPayAddressRefused(GovukPayError):
    """The connection's address is not one of GOV.UK Pay's (or an operator-allowed stand-in):
    the key is not sent there."""


def allowed_base_urls() -> list[tuple[str, str]]:
    """(address, label) of every place a council's API key may be sent: GOV.UK Pay's own,
    then any local stand-in an operator allowed (settings.GOVUK_PAY_STANDIN_URLS)."""
    real = list(settings.GOVUK_PAY_BASE_URLS.items())
    standins = [(url, f"Local stand-in ({url})") for url in settings.GOVUK_PAY_STANDIN_URLS]
    return real + standins


def is_allowed_base_url(url: str) -> bool:
    return url in {allowed for allowed, _label in allowed_base_urls()}


def client_for(connection: GovukPayConnection) -> GovukPayClient:
    """A client for the connection's service. Refused, before anything is sent, if its address
    is not an allowed one (say, saved before addresses were a choice, or a stand-in an
    operator no longer allows): the API key only ever goes to GOV.UK Pay."""
    if not is_allowed_base_url(connection.base_url):
        raise GovukPayAddressRefused("This GOV.UK Pay address is not one Counterfoil uses.")
    return GovukPayClient(
        decrypt(connection.api_key_encrypted),
        base_url=connection.base_url,
        timeout=settings.GOVUK_PAY_TIMEOUT_SECONDS,
        retries=settings.GOVUK_PAY_RETRIES,
        backoff_seconds=settings.GOVUK_PAY_BACKOFF_SECONDS,
        event_hooks={hook: list(observers) for hook, observers in EXCHANGE_OBSERVERS.items()},
    )


def default_connection() -> GovukPayConnection | None:
    return GovukPayConnection.objects.filter(fund__isnull=True).first()


def connection_for_fund(fund: Fund) -> GovukPayConnection | None:
    """The fund's own GOV.UK Pay service if it has one, else the council's."""
    own = GovukPayConnection.objects.filter(fund=fund).first()
    if own is not None and own.is_ready:
        return own
    return default_connection()


def webhook_secrets() -> list[tuple[int, str]]:
    """(connection id, signing secret) for every connection of the current council. Cached for
    a few seconds per process: this runs on every webhook, and a changed secret is saved
    rarely (`forget_webhook_secrets` drops this process's copy at once)."""
    schema = db_connection.schema_name
    cached = _secrets_cache.get(schema)
    now = time.monotonic()
    if cached is not None and cached[0] > now:
        return cached[1]
    found = [
        (pk, decrypt(token))
        for pk, token in GovukPayConnection.objects.exclude(webhook_secret_encrypted="")
        .values_list("pk", "webhook_secret_encrypted")
        .order_by("pk")
    ]
    _secrets_cache[schema] = (now + SECRETS_CACHE_SECONDS, found)
    return found


def forget_webhook_secrets(schemas: Iterable[str] | None = None) -> None:
    if schemas is None:
        _secrets_cache.clear()
    for schema in schemas or ():
        _secrets_cache.pop(schema, None)
