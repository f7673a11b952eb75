"""Security finding 11: an amount of 99999999999999999.99 on take-payment gave HTTP 500 (it
overflowed PostgreSQL's bigint). Every amount typed in pounds is bounded with a clear message
(the pages are tested beside their own: test_receipting_pages, test_govuk_pay_portal)."""

import pytest
from django.core.exceptions import ValidationError

from income.money import MAX_AMOUNT_PENCE, parse_pounds

TOO_MUCH = "Enter an amount of no more than £9,999,999,999.99."


def test_the_largest_amount_is_taken_and_a_penny_more_is_refused():
    assert parse_pounds("9,999,999,999.99") == MAX_AMOUNT_PENCE
    with pytest.raises(ValidationError, match=TOO_MUCH):
        parse_pounds("10,000,000,000.00")
