"""Error reporting to Sentry: council-tagged, with payer and card data scrubbed before sending."""

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
        "email", "email_address", "name", "first_name", "last_name", "full_name",
        "payer_name", "cardholder_name", "card_details", "card_number", "billing_address",
        "first_digits_card_number", "last_digits_card_number", "expiry_date", "cvc", "cvv",
        "address", "postcode", "phone", "telephone", "password", "secret", "api_key",
        "authorization", "cookie", "sessionid", "counterfoil_session", "csrftoken",
    }
)  # fmt: skip


def scrub(value: Any) -> Any:
    """Return `value` with sensitive keys filtered and emails/card numbers masked in text."""
    if isinstance(value, dict):
        return {
            key: FILTERED if str(key).lower() in SENSITIVE_KEYS else scrub(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(scrub(item) for item in value)
    if isinstance(value, str):
        return CARD_NUMBER_PATTERN.sub(FILTERED, EMAIL_PATTERN.sub(FILTERED, value))
    return value


def before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    # The user is known to us by id only; Sentry never receives who they are.
    user = event.get("user")
    if user:
        event["user"] = {"id": user["id"]} if "id" in user else {}
    return scrub(event)


def init_sentry(dsn: str, *, environment: str = "production") -> None:
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        before_send=before_send,
        before_send_transaction=before_send,
        traces_sample_rate=0.0,
    )


def tag_council(schema_name: str | None) -> None:
    """Tag everything reported from now on in this scope with the council it concerns."""
    sentry_sdk.get_isolation_scope().set_tag("council", schema_name or "platform")
