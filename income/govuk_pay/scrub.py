"""Card and cardholder data never reach our storage or logs: they are dropped here first."""

from typing import Any

# Keys whose values identify a card or its holder, wherever they appear in a payment.
CARDHOLDER_KEYS = frozenset(
    {
        "card_details",
        "card_brand",
        "cardholder_name",
        "billing_address",
        "first_digits_card_number",
        "last_digits_card_number",
        "expiry_date",
        "email",
        "prefilled_cardholder_details",
        "wallet_type",
    }
)


def without_cardholder_data(value: Any) -> Any:
    """A copy of `value` (a payment, a webhook body, a search page) with card and cardholder
    fields removed at any depth."""
    if isinstance(value, dict):
        return {
            key: without_cardholder_data(item)
            for key, item in value.items()
            if key not in CARDHOLDER_KEYS
        }
    if isinstance(value, list):
        return [without_cardholder_data(item) for item in value]
    return value
