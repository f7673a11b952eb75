"""Money as people write it and as we keep it: integer pence, never floats."""

import re

from django.core.exceptions import ValidationError

# The most any one amount may be: just under £10bn. Far above any single payment a council
# takes, and low enough that a million of them still add up inside PostgreSQL's bigint (an
# amount typed as 99999999999999999.99 overflowed it and failed with an error page).
MAX_AMOUNT_PENCE = 999_999_999_999

_POUNDS = re.compile(r"^£?\s*(?P<whole>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<pence>\d{2}))?$")


def format_pounds(pence: int) -> str:
    """123456 → £1,234.56; -100 → -£1.00."""
    sign = "-" if pence < 0 else ""
    whole, part = divmod(abs(int(pence)), 100)
    return f"{sign}£{whole:,}.{part:02d}"


def decimal_pounds(pence: int) -> str:
    """123456 → 1234.56; -5 → -0.05: pounds as files and forms write them, no £ or commas."""
    sign = "-" if pence < 0 else ""
    whole, part = divmod(abs(int(pence)), 100)
    return f"{sign}{whole}.{part:02d}"


def parse_pounds(text: str) -> int:
    """ "£1,234.56" or "1234.56" or "12" → pence. Fractions of a penny, negatives and anything
    else are refused with a message a person can act on."""
    cleaned = (text or "").strip()
    match = _POUNDS.fullmatch(cleaned)
    if not match:
        if re.fullmatch(r"£?\s*\d[\d,]*\.\d{3,}", cleaned):
            raise ValidationError(
                "Enter an amount in pounds and pence, like 12.50 (no fractions of a penny)."
            )
        raise ValidationError("Enter an amount in pounds and pence, like 12.50.")
    whole = int(match["whole"].replace(",", ""))
    pence = whole * 100 + int(match["pence"] or 0)
    if pence > MAX_AMOUNT_PENCE:
        raise ValidationError(
            f"Enter an amount of no more than {format_pounds(MAX_AMOUNT_PENCE)}.",
            code="too_large",
        )
    return pence


# Notes and coins in pence, as a cash-up counts them; a count of anything else is refused.
DENOMINATIONS = (5000, 2000, 1000, 500, 200, 100, 50, 20, 10, 5, 2, 1)
