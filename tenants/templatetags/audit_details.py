"""An audit record's before and after as a person reads them: "Amount: £12.50", one field a
line, rather than the stored JSON."""

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

register = template.Library()


def field_label(name: str) -> str:
    label = name.removesuffix("_pence").replace("_", " ").strip()
    return label[:1].upper() + label[1:]


def _pounds(pence: int) -> str:
    sign = "-" if pence < 0 else ""
    whole, part = divmod(abs(pence), 100)
    return f"{sign}£{whole:,}.{part:02d}"


def field_value(value: object, name: str = "") -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) and name.endswith("_pence"):
        return _pounds(value)
    if isinstance(value, dict):
        return "; ".join(f"{field_label(k)}: {field_value(v, k)}" for k, v in sorted(value.items()))
    if isinstance(value, list | tuple):
        return ", ".join(field_value(item, name) for item in value) or "none"
    if value == "":
        return "(blank)"
    return str(value)


@register.filter
def audit_fields(value: object) -> SafeString:
    """A record's `before` or `after` as a list of "Field: value" lines, in the order of the
    fields' names (the database keeps no order of its own)."""
    if isinstance(value, dict):
        return format_html(
            '<ul class="govuk-list govuk-body-s govuk-!-margin-bottom-1">{}</ul>',
            format_html_join(
                "",
                "<li>{}: {}</li>",
                ((field_label(k), field_value(v, k)) for k, v in sorted(value.items())),
            ),
        )
    return format_html("{}", field_value(value))
