"""A report's rows as people read them: pounds, dates and counts by the column's kind.

Rows are built in Python, one format_html per cell (as receipt_table does for the search):
the template engine's loops and tags cost tens of microseconds a cell, which for a screen of
five hundred rows would be most of the page's time.
"""

import datetime
from decimal import Decimal

from django import template
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from income.money import format_pounds
from income.reports.report import Column, Kind, ReportTable

register = template.Library()

_CELL = '<td class="govuk-table__cell{}">{}</td>'
_NUMERIC = " govuk-table__cell--numeric"


def cell_text(column: Column, value: object) -> str:
    if value is None or value == "":
        return ""
    if column.kind == Kind.PENCE and isinstance(value, int | Decimal):
        return format_pounds(int(value))
    if column.kind == Kind.COUNT and isinstance(value, int | Decimal):
        return f"{int(value):,}"
    if isinstance(value, datetime.datetime):
        return f"{timezone.localtime(value):%-d %b %Y %H:%M}"
    if isinstance(value, datetime.date):
        return f"{value:%-d %b %Y}"
    return str(value)


@register.simple_tag
def report_rows(table: ReportTable) -> SafeString:
    """The table's body rows shown on screen, or one row saying there are none."""
    if not table.rows:
        return format_html(
            '<tr class="govuk-table__row"><td class="govuk-table__cell" colspan="{}">{}</td></tr>',
            len(table.columns),
            table.empty_text,
        )
    classes = [_NUMERIC if column.is_numeric else "" for column in table.columns]
    columns = list(table.columns)
    rows = (
        '<tr class="govuk-table__row">'
        + format_html_join(
            "",
            _CELL,
            (
                (css, cell_text(column, value))
                for css, column, value in zip(classes, columns, row, strict=True)
            ),
        )
        + "</tr>"
        for row in table.screen_rows
    )
    return mark_safe("\n".join(rows))  # noqa: S308 - every cell was escaped by format_html


@register.simple_tag
def report_totals(table: ReportTable) -> SafeString:
    """The totals row: its first cell a row header, the rest in bold."""
    first, *rest = zip(table.columns, table.totals, strict=True)
    return format_html(
        '<tr class="govuk-table__row"><th scope="row" class="govuk-table__header">{}</th>{}</tr>',
        cell_text(*first),
        format_html_join(
            "",
            '<td class="govuk-table__cell govuk-!-font-weight-bold{}">{}</td>',
            ((_NUMERIC if column.is_numeric else "", cell_text(column, value))
             for column, value in rest),
        ),
    )  # fmt: skip
