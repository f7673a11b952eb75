"""The form for an export target: its layout's fields as lines of text."""

from django import forms

from income.exports.layout import (
    DATE_DIRECTIVES,
    FIELDS,
    date_format_problem,
    fields_text,
    formula_start_problem,
    parse_fields,
)
from income.models import ExportTarget, Fund
from tenants.govuk_forms import GovukModelForm


class ExportTargetForm(GovukModelForm):
    field_lines = forms.CharField(
        required=False,
        label="Fields, one a line",
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        help_text="Each line: field, width, left or right, pad character; for example "
        "“amount,10,right,0”. Widths matter for fixed width only. Fields: "
        + ", ".join(FIELDS)
        + ".",
    )

    class Meta:
        model = ExportTarget
        fields = [
            "name",
            "layout",
            "delimiter",
            "include_header",
            "include_trailer",
            "date_format",
            "amount_format",
            "control_ledger_code",
            "funds",
            "runs_daily",
            "is_active",
        ]
        widgets = {"funds": forms.CheckboxSelectMultiple}

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["funds"].queryset = Fund.objects.all()
        if self.instance.pk:
            self.fields["field_lines"].initial = fields_text(self.instance.fields)
        self.fields["date_format"].help_text = (
            "For example %d/%m/%Y or %Y%m%d, from the parts " + ", ".join(DATE_DIRECTIVES) + "."
        )
        self._decorate_widgets()

    def clean_date_format(self) -> str:
        value = self.cleaned_data["date_format"]
        problem = date_format_problem(value)
        if problem:
            raise forms.ValidationError(problem)
        return value

    def clean_control_ledger_code(self) -> str:
        value = self.cleaned_data["control_ledger_code"]
        problem = formula_start_problem(value, "The control code")
        if problem:
            raise forms.ValidationError(problem)
        return value

    def clean_field_lines(self) -> str:
        text = self.cleaned_data["field_lines"]
        if not text.strip() and self.data.get("layout") == "gl_journal":
            self.instance.fields = []
            return text
        try:
            self.instance.fields = parse_fields(text)
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None
        return text
