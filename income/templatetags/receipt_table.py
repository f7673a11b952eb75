"""The rows of a receipt search's results, built in Python.

A search page shows fifty receipts, and the template engine spent about 75 µs on each row (a
URL reversal, two filters and six lookups), a third of the page's time; here a row is one
str.format of escaped values, with the date written from a month-name table. The markup is
the same GOV.UK table row the template wrote.
"""

import datetime
import functools
from collections.abc import Iterable
from html import escape
from urllib.parse import quote

from django import template
from django.urls import reverse
from django.utils import translation
from django.utils.dateformat import format as format_date
from django.utils.safestring import SafeString, mark_safe

from income.models import Receipt, ReceiptStatus
from income.money import format_pounds

register = template.Library()

_PLACEHOLDER = "RECEIPT-NUMBER"
_REVERSED = mark_safe(' <strong class="govuk-tag govuk-tag--red">Reversed</strong>')
_ROW = (
    '<tr class="govuk-table__row">'
    '<td class="govuk-table__cell"><a class="govuk-link" href="{}">{}</a>{}</td>'
    '<td class="govuk-table__cell">{}</td>'
    '<td class="govuk-table__cell">{}<br><code>{}</code></td>'
    '<td class="govuk-table__cell">{}</td>'
    '<td class="govuk-table__cell govuk-table__cell--numeric">{}</td>'
    "</tr>"
)


@functools.lru_cache
def _month_names(language: str | None) -> tuple[str, ...]:
    """Django's "M" for each month in `language` (the active one when called): a row's date is
    then written as format_date writes "j M Y", without its parsing for each of fifty rows."""
    return tuple(format_date(datetime.date(2000, month, 1), "M") for month in range(1, 13))


@register.simple_tag
def receipt_rows(receipts: Iterable[Receipt]) -> SafeString:
    """One table row per receipt; each receipt's channel must be loaded with it."""
    # Reversed once: every receipt's address differs only in its number.
    address = reverse("income:receipt", args=[_PLACEHOLDER])
    months = _month_names(translation.get_language())
    rows = []
    for receipt in receipts:
        day = receipt.received_on
        rows.append(
            _ROW.format(
                escape(address.replace(_PLACEHOLDER, quote(receipt.number))),
                escape(receipt.number),
                _REVERSED if receipt.status == ReceiptStatus.REVERSED else "",
                f"{day.day} {months[day.month - 1]} {day.year:04d}",
                escape(receipt.payer_name),
                escape(receipt.payer_reference),
                escape(receipt.channel.name),
                escape(format_pounds(receipt.amount_pence)),
            )
        )
    return mark_safe("\n".join(rows))  # noqa: S308 - every value above is escaped
