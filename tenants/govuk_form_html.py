"""A GOV.UK form's text inputs and selects written in Python, as receipt rows are.

Through the templates (govuk/form.html, govuk/field.html and a widget template per field)
the receipt search form took about 2.5 ms to render, a third of the search page's own time:
each field is a template render with its own context, and each widget another. Here an
input or select field is one string, the templates' markup character for character, escaped
as Jinja2 escapes (a test renders every such field both ways and compares them). Any other
field (radios, checkboxes, text areas, file uploads, a field or widget with a template of its
own) is still rendered by its template, so nothing looks different.
"""

from django import forms
from django.forms.boundfield import BoundField
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext
from markupsafe import escape

# Exact types: a subclass may render differently.
_INPUTS = {
    forms.TextInput, forms.NumberInput, forms.EmailInput, forms.URLInput,
    forms.PasswordInput, forms.DateInput, forms.DateTimeInput, forms.TimeInput,
}  # fmt: skip
_SELECTS = {forms.Select, forms.NullBooleanSelect}
# The select template govuk_forms gives these widgets (written here as that template does).
SELECT_TEMPLATE = "govuk/select.html"


def _attributes(attrs: dict) -> str:
    """As Django's attrs.html: `False` leaves the attribute out, `True` writes its name."""
    return "".join(
        f" {name}" if value is True else f' {name}="{escape(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


def _writes_in_python(bound: BoundField) -> bool:
    widget = bound.field.widget
    if bound.field.template_name:
        return False
    kind = type(widget)
    if kind in _INPUTS:
        return widget.template_name == kind.template_name
    return kind in _SELECTS and widget.template_name == SELECT_TEMPLATE


def _widget(bound: BoundField) -> str:
    """The widget's markup, from the context Django's own rendering would give its template."""
    widget = bound.field.widget
    if bound.field.localize:
        widget.is_localized = True
    attrs = bound.build_widget_attrs({}, widget)
    if bound.auto_id and "id" not in widget.attrs:
        attrs.setdefault("id", bound.auto_id)
    context = widget.get_context(bound.html_name, bound.value(), attrs)["widget"]
    name = escape(context["name"])
    if type(widget) in _SELECTS:
        options = []
        for group_name, group_choices, _ in context["optgroups"]:
            if group_name:
                options.append(f'\n  <optgroup label="{escape(group_name)}">')
            options.extend(
                f'\n  <option value="{escape(option["value"])}"'
                f"{_attributes(option['attrs'])}>{escape(option['label'])}</option>"
                for option in group_choices
            )
            if group_name:
                options.append("\n  </optgroup>")
        return f'<select name="{name}"{_attributes(context["attrs"])}>{"".join(options)}\n</select>'
    value = context["value"]
    shown = "" if value is None else f' value="{escape(value)}"'
    return (
        f'<input type="{escape(context["type"])}" name="{name}"{shown}'
        f"{_attributes(context['attrs'])}>"
    )


def _field_group(bound: BoundField) -> str:
    """govuk/field.html's text-input branch."""
    errors = bound.errors
    auto_id = escape(bound.auto_id)
    hint = (
        f'<div id="{auto_id}-hint" class="govuk-hint">{escape(bound.help_text)}</div>'
        if bound.help_text
        else ""
    )
    error = ""
    if errors:
        prefix = f'<span class="govuk-visually-hidden">{escape(gettext("Error:"))}</span> '
        messages = "<br>".join(f"{prefix}{escape(message)}" for message in errors)
        error = f'<p id="{auto_id}-error" class="govuk-error-message">{messages}</p>'
    widget = _widget(bound)
    money_prefix = getattr(bound.field, "prefix", None)
    if money_prefix:
        widget = (
            '<div class="govuk-input__wrapper"><div class="govuk-input__prefix" '
            f'aria-hidden="true">{escape(money_prefix)}</div>{widget}</div>'
        )
    label_for = escape(bound.id_for_label)
    return (
        f'<div class="govuk-form-group{" govuk-form-group--error" if errors else ""}">\n'
        f'  <label class="govuk-label govuk-label--s" for="{label_for}">'
        f"{escape(bound.label)}</label>\n"
        f"  {hint}\n  {error}\n  {widget}\n</div>"
    )


def form_html(form: forms.BaseForm) -> SafeString:
    """govuk/form.html: each visible field's group, a line break, then the hidden fields."""
    visible = "".join(
        _field_group(bound) if _writes_in_python(bound) else str(bound.as_field_group())
        for bound in form.visible_fields()
    )
    hidden = "".join(str(bound) for bound in form.hidden_fields())
    # Stripped, as Django's renderers strip what a template writes.
    return mark_safe(f"{visible}\n{hidden}".strip())  # noqa: S308 - every value above is escaped
