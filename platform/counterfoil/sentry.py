"""Error reporting to Sentry: council-tagged, with payer and card data scrubbed before sending."""

import json
import re
from typing import Any

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration

EMAIL_PATTERN = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# A card number is 12 to 19 digits, perhaps grouped by spaces or dashes.
CARD_NUMBER_PATTERN = re.compile(r"\b(?:\d[ -]?){11,18}\d\b")
FILTERED = "[Filtered]"

# Keys whose values are personal or card data, wherever they appear in an event.
SENSITIVE_KEYS = frozenset(
    {
        "email", "email_address", "first_name", "last_name", "full_name",
        "payer_name", "cardholder_name", "card_details", "card_number", "billing_address",
        "first_digits_card_number", "last_digits_card_number", "expiry_date", "cvc", "cvv",
        "address", "postcode", "phone", "telephone", "password", "secret", "api_key",
        "authorization", "cookie", "sessionid", "counterfoil_session", "csrftoken",
        "query_string",
    }
)  # fmt: skip


# In a stack frame's local variables or a request's form data, a plain `name` is a person's.
PERSONAL_IN_DATA = SENSITIVE_KEYS | {"name"}
DATA_SECTIONS = frozenset({"vars", "data", "query_string", "extra"})


def scrub(value: Any, *, sensitive: frozenset[str] = SENSITIVE_KEYS) -> Any:
    """Return `value` with sensitive keys filtered and emails/card numbers masked in text."""
    if isinstance(value, dict):
        return {
            key: FILTERED
            if str(key).lower() in sensitive
            else scrub(item, sensitive=PERSONAL_IN_DATA if key in DATA_SECTIONS else sensitive)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(scrub(item, sensitive=sensitive) for item in value)
    if isinstance(value, str):
        return CARD_NUMBER_PATTERN.sub(FILTERED, EMAIL_PATTERN.sub(FILTERED, value))
    return value


def current_council_tag() -> str:
    """The council whose schema the connection is on now: set by the host middleware for a
    request and by tenant-schemas-celery for a task, so it is right wherever the event arose."""
    from django.db import connection

    schema = getattr(connection, "schema_name", "public")
    return "platform" if schema == "public" else schema


def signed_in_person_names() -> list[str]:
    """The name of whoever the current request is for, if already loaded: a message that
    mentions them by name must not carry it to Sentry."""
    from tenants.request_context import current_request

    request = current_request()
    user = getattr(request, "_cached_user", None) if request is not None else None
    full_name = getattr(user, "full_name", "") or ""
    return [full_name] if len(full_name) >= 3 else []


def before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    event.setdefault("tags", {})["council"] = current_council_tag()
    # The user is known to us by id only; Sentry never receives who they are.
    user = event.get("user")
    if user:
        event["user"] = {"id": user["id"]} if "id" in user else {}
    names = signed_in_person_names()
    if names:
        event = json.loads(
            re.sub("|".join(re.escape(json.dumps(n)[1:-1]) for n in names), FILTERED,
                   json.dumps(event), flags=re.IGNORECASE)
        )  # fmt: skip
    return scrub(event)


def init_sentry(dsn: str, *, environment: str = "production") -> None:
    # send_default_pii stays at its default, off (the SDK now deprecates passing it at all).
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        before_send=before_send,
        before_send_transaction=before_send,
        traces_sample_rate=0.0,
    )
