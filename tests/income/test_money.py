import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from income.money import MAX_AMOUNT_PENCE, format_pounds, parse_pounds


@pytest.mark.parametrize(
    ("text", "pence"),
    [("12.50", 1250), ("£1,234.56", 123456), ("7", 700), ("0.01", 1), (" £ 10.00 ", 1000)],
)
def test_amounts_people_write_become_pence(text, pence):
    assert parse_pounds(text) == pence


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("12.345", "no fractions of a penny"),
        ("-5.00", "like 12.50"),
        ("12.5", "like 12.50"),
        ("1e3", "like 12.50"),
        ("", "like 12.50"),
        ("=1+1", "like 12.50"),
    ],
)
def test_anything_else_is_refused_with_a_message(text, message):
    with pytest.raises(ValidationError, match=message):
        parse_pounds(text)


@given(st.integers(min_value=-MAX_AMOUNT_PENCE, max_value=MAX_AMOUNT_PENCE))
def test_formatting_and_parsing_round_trip_exactly(pence):
    text = format_pounds(pence)
    assert text.startswith("-£" if pence < 0 else "£")
    if pence >= 0:
        assert parse_pounds(text) == pence


def test_decimal_pounds_keeps_the_sign_of_small_amounts():
    from income.money import decimal_pounds

    assert [decimal_pounds(p) for p in (123456, 5, 0, -5, -100)] == [
        "1234.56",
        "0.05",
        "0.00",
        "-0.05",
        "-1.00",
    ]
