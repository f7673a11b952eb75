"""Council subdomains (slugs) and the PostgreSQL schema names we derive from them.

A schema name is never taken from user input: it is built by us from a slug that has already
passed a strict ASCII-only check, and checked again before any SQL names it.
"""

import re

from django.conf import settings
from django.core.exceptions import ValidationError

SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,28}[a-z0-9]$")
SCHEMA_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{2,40}$")
SCHEMA_PREFIX = "council_"


def validate_slug(slug: str) -> None:
    """Refuse a subdomain that is not plain lower-case ASCII, or that is reserved."""
    if not isinstance(slug, str) or not SLUG_PATTERN.fullmatch(slug):
        raise ValidationError(
            "Enter a subdomain of 3 to 30 characters: lower-case letters a to z, digits and "
            "hyphens, starting with a letter and not ending with a hyphen.",
            code="invalid_slug",
        )
    if "--" in slug:
        raise ValidationError(
            "A subdomain cannot contain two hyphens together.", code="invalid_slug"
        )
    if slug in settings.RESERVED_SLUGS or slug.startswith("pg-") or slug.startswith("xn--"):
        raise ValidationError(f"The subdomain “{slug}” is reserved.", code="reserved_slug")


def schema_name_for_slug(slug: str) -> str:
    validate_slug(slug)
    schema_name = SCHEMA_PREFIX + slug.replace("-", "_")
    validate_schema_name(schema_name)
    return schema_name


def validate_schema_name(schema_name: str) -> None:
    if (
        not SCHEMA_NAME_PATTERN.fullmatch(schema_name)
        or schema_name.startswith("pg_")
        or schema_name in {"public", "information_schema"}
    ):
        raise ValidationError(f"“{schema_name}” is not a schema name Counterfoil generates.")
