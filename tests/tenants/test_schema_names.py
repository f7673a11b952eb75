import pytest
from django.core.exceptions import ValidationError

from tenants.schema_names import schema_name_for_slug, validate_schema_name, validate_slug


@pytest.mark.parametrize(
    "slug",
    [
        "north'brook",  # a quote
        "north;drop",  # a semicolon
        "north brook",
        "n\u043erthbrook",  # a Cyrillic o, a look-alike
        "northbr\u043e\u043ek",
        "NorthBrook",
        "pg-catalog",
        "xn--nrthbrook",  # punycode
        "north--brook",
        "-north",
        "north-",
        "ab",
        "a" * 31,
        "www",
        "admin",
        "public",
        "",
    ],
)
def test_unsafe_or_reserved_subdomains_are_refused_with_a_message(slug):
    with pytest.raises(ValidationError) as refused:
        validate_slug(slug)
    assert refused.value.messages[0]


def test_a_reserved_subdomain_says_it_is_reserved():
    with pytest.raises(ValidationError, match="reserved"):
        validate_slug("console")


def test_schema_names_are_generated_from_the_slug():
    assert schema_name_for_slug("north-brook") == "council_north_brook"


@pytest.mark.parametrize(
    "schema_name", ["public", "pg_temp", "Council_a", 'a"; drop schema public', "ab", "x" * 42]
)
def test_schema_names_we_would_not_generate_are_refused(schema_name):
    with pytest.raises(ValidationError):
        validate_schema_name(schema_name)
