"""Django forms rendered as GOV.UK Design System components.

`{{ form }}` in a template gives labels, hints, error messages and inputs with GOV.UK classes
and the aria wiring the Design System asks for; `{% include "govuk/error_summary.html" %}`
gives the error summary that links to each field. Forms inherit GovukFormMixin (or use
GovukForm / GovukModelForm) so their widgets carry the right classes.
"""

from pathlib import Path

import django.forms
from django import forms
from django.forms.renderers import Jinja2
from django.utils import translation
from django.utils.functional import cached_property
from django.utils.safestring import SafeString

from tenants.govuk_form_html import SELECT_TEMPLATE, form_html

WIDGET_CLASSES: dict[type, str] = {
    forms.Textarea: "govuk-textarea",
    forms.Select: "govuk-select",
    forms.SelectMultiple: "govuk-select",
    forms.ClearableFileInput: "govuk-file-upload",
    forms.FileInput: "govuk-file-upload",
    forms.RadioSelect: "govuk-radios__input",
    forms.CheckboxSelectMultiple: "govuk-checkboxes__input",
    forms.CheckboxInput: "govuk-checkboxes__input",
    forms.DateInput: "govuk-input govuk-input--width-10",
    forms.NumberInput: "govuk-input govuk-input--width-10",
    forms.widgets.Input: "govuk-input",
}
ERROR_CLASSES = {"govuk-input": "govuk-input--error", "govuk-select": "govuk-select--error",
                 "govuk-textarea": "govuk-textarea--error",
                 "govuk-file-upload": "govuk-file-upload--error"}  # fmt: skip


# Selects whose options render in one template (govuk/select.html). Exact types only: a
# subclass may have its own option template.
FAST_SELECTS = (forms.Select, forms.NullBooleanSelect)


def _base_class(widget: forms.Widget) -> str:
    for widget_type, css in WIDGET_CLASSES.items():
        if isinstance(widget, widget_type):
            return css
    return ""


class GovukFormRenderer(Jinja2):
    """Forms and widgets through Jinja2 (templates in tenants/jinja2/govuk/ and Django's own
    jinja2 widget templates): a search form's selects are rendered an option at a time, and
    Django's template engine took 3 ms for the receipt search form where Jinja2 takes a fraction.
    """

    form_template_name = "govuk/form.html"
    field_template_name = "govuk/field.html"

    @cached_property
    def engine(self) -> object:
        # As Django's, with gettext: an error's "Error:" prefix is "Gwall:" on a Welsh page.
        engine = self.backend(
            {
                "APP_DIRS": True,
                "DIRS": [Path(django.forms.__file__).parent / self.backend.app_dirname],
                "NAME": "djangoforms",
                "OPTIONS": {"extensions": ["jinja2.ext.i18n"]},
            }
        )
        engine.env.install_gettext_callables(  # type: ignore[attr-defined]
            translation.gettext, translation.ngettext, newstyle=True
        )
        return engine


class GovukFormMixin:
    """Give each widget its GOV.UK class, error modifier and aria-describedby; `{{ form }}`
    writes its inputs and selects in Python (tenants.govuk_form_html)."""

    def render(
        self, template_name: str | None = None, context: dict | None = None,
        renderer: object = None,
    ) -> SafeString:  # fmt: skip
        default = template_name is None and context is None and renderer is None
        if default and self.template_name == GovukFormRenderer.form_template_name:  # type: ignore[attr-defined]
            return form_html(self)  # type: ignore[arg-type]
        return super().render(template_name, context, renderer)  # type: ignore[misc]

    # As Django's forms do: their __str__ and __html__ are bound to their own render.
    __str__ = render
    __html__ = render

    def full_clean(self) -> None:
        super().full_clean()  # type: ignore[misc]
        self._decorate_widgets()

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        self._decorate_widgets()

    def _decorate_widgets(self) -> None:
        for name, field in self.fields.items():  # type: ignore[attr-defined]
            widget = field.widget
            css = _base_class(widget)
            # _errors, not errors: reading `errors` would validate the form before its
            # subclass has finished setting up (e.g. a choice field's queryset).
            errors = self._errors or {}  # type: ignore[attr-defined]
            has_errors = bool(errors.get(name))
            if has_errors and css in ERROR_CLASSES:
                css = f"{css} {ERROR_CLASSES[css]}"
            widget.attrs["class"] = css
            if type(widget) in FAST_SELECTS:
                widget.template_name = SELECT_TEMPLATE
            # Worked out here rather than through self[name]: a cached bound field would keep
            # this field even if a subclass replaces it afterwards.
            html_name = self.add_prefix(name)  # type: ignore[attr-defined]
            auto_id = self.auto_id % html_name if self.auto_id else html_name  # type: ignore[attr-defined]
            described_by = []
            if field.help_text:
                described_by.append(f"{auto_id}-hint")
            if has_errors:
                described_by.append(f"{auto_id}-error")
            if described_by and not isinstance(
                widget, forms.RadioSelect | forms.CheckboxSelectMultiple
            ):
                widget.attrs["aria-describedby"] = " ".join(described_by)
            else:
                widget.attrs.pop("aria-describedby", None)


class GovukForm(GovukFormMixin, forms.Form):
    pass


class GovukModelForm(GovukFormMixin, forms.ModelForm):
    pass
