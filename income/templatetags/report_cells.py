"""A report's rows as people read them: pounds, dates and counts by the column's kind.

Rows are built in Python with the standard library's escape: the template engine's loops and
tags (and even format_html, through Django's lazy-string wrappers) cost tens of microseconds
a cell, which for a screen of a few hundred rows was most of the page's time.
"""

import datetime
from collections.abc import Callable
from decimal import Decimal
from html import escape

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from income.money import format_pounds
from income.reports.report import Column, Kind, ReportTable

register = template.Library()

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


def _cells(columns: list[Column], values: tuple, first_is_header: bool = False) -> str:
    parts = []
    for index, (column, value) in enumerate(zip(columns, values, strict=True)):
        text = escape(cell_text(column, value), quote=True)
        if first_is_header and index == 0:
            parts.append(f'<th scope="row" class="govuk-table__header">{text}</th>')
        else:
            css = _NUMERIC if column.is_numeric else ""
            bold = " govuk-!-font-weight-bold" if first_is_header else ""
            parts.append(f'<td class="govuk-table__cell{bold}{css}">{text}</td>')
    return "".join(parts)


def _cell_writer(column: Column) -> Callable[[object], str]:
    """A function writing one body cell of `column`, chosen once per column: a screen of
    rows is a few thousand cells, and each deciding its kind again cost most of the page."""
    opening = f'<td class="govuk-table__cell{_NUMERIC if column.is_numeric else ""}">'
    if column.kind == Kind.TEXT:
        return lambda value: f"{opening}{escape(str(value), quote=True)}</td>"
    if column.kind == Kind.DATE:
        # Many rows share a day: each day is written once.
        written: dict[object, str] = {}

        def date_cell(value: object) -> str:
            cell = written.get(value)
            if cell is None:
                cell = written[value] = f"{opening}{escape(cell_text(column, value))}</td>"
            return cell

        return date_cell
    if column.kind == Kind.PENCE:
        return lambda value: (
            f"{opening}{format_pounds(int(value))}</td>"
            if isinstance(value, int | Decimal)
            else f"{opening}{escape(cell_text(column, value))}</td>"
        )
    return lambda value: f"{opening}{escape(cell_text(column, value))}</td>"


@register.simple_tag
def report_rows(table: ReportTable) -> SafeString:
    """The table's body rows shown on screen, or one row saying there are none."""
    if not table.rows:
        return format_html(
            '<tr class="govuk-table__row"><td class="govuk-table__cell" colspan="{}">{}</td></tr>',
            len(table.columns),
            table.empty_text,
        )
    writers = [_cell_writer(column) for column in table.columns]
    rows = "\n".join(
        '<tr class="govuk-table__row">'
        + "".join([write(value) for write, value in zip(writers, row, strict=True)])
        + "</tr>"
        for row in table.screen_rows
    )
    return mark_safe(rows)  # noqa: S308 - every cell's text is escaped by its writer


@register.simple_tag
def report_totals(table: ReportTable) -> SafeString:
    """The totals row: its first cell a row header, the rest in bold."""
    cells = _cells(list(table.columns), table.totals, first_is_header=True)
    return mark_safe(f'<tr class="govuk-table__row">{cells}</tr>')  # noqa: S308 - escaped
