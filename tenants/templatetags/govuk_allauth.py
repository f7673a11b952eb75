"""Filters that dress allauth's forms (sign-in, two-factor, password) in GOV.UK classes, for the
element templates in tenants/templates/allauth/elements."""

from django import forms, template
from django.forms.boundfield import BoundField
from django.utils.safestring import SafeString

register = template.Library()


@register.filter
def govuk_widget(field: BoundField) -> SafeString:
    """The field's input with its GOV.UK class, error modifier and described-by ids."""
    widget = field.field.widget
    if isinstance(widget, forms.CheckboxInput):
        css = "govuk-checkboxes__input"
    elif isinstance(widget, forms.Textarea):
        css = "govuk-textarea" + (" govuk-textarea--error" if field.errors else "")
    elif isinstance(widget, forms.Select):
        css = "govuk-select" + (" govuk-select--error" if field.errors else "")
    else:
        css = "govuk-input" + (" govuk-input--error" if field.errors else "")
        if field.name == "code":  # a six-digit code: a short box says what is expected
            css += " govuk-input--width-10"
    described_by = []
    if field.help_text:
        described_by.append(f"{field.auto_id}_helptext")
    if field.errors:
        described_by.append(f"{field.auto_id}-error")
    attrs = {"class": css}
    if described_by:
        attrs["aria-describedby"] = " ".join(described_by)
    return field.as_widget(attrs=attrs)


@register.filter
def is_checkbox(field: BoundField) -> bool:
    return isinstance(field.field.widget, forms.CheckboxInput)
