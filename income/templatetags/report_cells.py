"""A report's cells as people read them: pounds, dates and counts by the column's kind."""

import datetime
from decimal import Decimal

from django import template
from django.utils import timezone

from income.money import format_pounds
from income.reports.report import Column, Kind

register = template.Library()


@register.simple_tag
def report_cell(column: Column, value: object) -> str:
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


@register.filter
def zip_columns(row: tuple, columns: list[Column]) -> list[tuple[Column, object]]:
    """Each cell of `row` beside its column."""
    return list(zip(columns, row, strict=True))
