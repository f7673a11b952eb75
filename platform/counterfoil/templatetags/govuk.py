"""Template filters for GOV.UK components: money in pounds."""

from django import template

from income.money import format_pounds

register = template.Library()


@register.filter
def pounds(pence: int | None) -> str:
    """Integer pence as pounds for people: 123456 → £1,234.56 (and -£1.00 for negatives)."""
    return "" if pence is None else format_pounds(pence)
