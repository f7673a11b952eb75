"""Template filters for GOV.UK components: widget types, money in pounds."""

from django import template
from django.forms import BoundField

from income.money import format_pounds

register = template.Library()


@register.filter
def widget_type(field: BoundField) -> str:
    return type(field.field.widget).__name__.lower()


@register.filter
def pounds(pence: int | None) -> str:
    """Integer pence as pounds for people: 123456 → £1,234.56 (and -£1.00 for negatives)."""
    return "" if pence is None else format_pounds(pence)
