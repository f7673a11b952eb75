"""Forms for the import pages: uploading a file, import rules and CSV column mappings."""

from django import forms

from income.formats.registry import format_choices
from income.imports.rules_sql import FIELD_CHOICES, OPERATOR_CHOICES
from income.models import Channel, CsvMapping, Fund, ImportRule
from income.money import decimal_pounds, parse_pounds
from tenants.govuk_forms import GovukForm, GovukModelForm

CONDITION_ROWS = 3


class UploadForm(GovukForm):
    format = forms.ChoiceField(label="What kind of file is it?", widget=forms.RadioSelect)
    mapping = forms.ModelChoiceField(
        queryset=CsvMapping.objects.all(),
        required=False,
        label="Column mapping (for CSV files)",
        help_text="Which column holds the date, amount and reference. Set them up under "
        "Column mappings.",
    )
    default_date = forms.DateField(
        required=False,
        label="Date for lines without one (optional)",
        help_text="For example 24/11/2026. A BACS file without its UHL1 label has no date; "
        "the import uses this day, or today.",
        input_formats=["%d/%m/%Y", "%Y-%m-%d"],
    )
    file = forms.FileField(label="The file")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["format"].choices = format_choices()


class ImportRuleForm(GovukModelForm):
    """A rule's conditions as up to three rows of field, operator and value."""

    class Meta:
        model = ImportRule
        fields = ["name", "position", "set_fund", "set_reference", "set_channel", "is_active"]
        labels = {
            "set_fund": "Then set the fund to",
            "set_reference": "Then set the reference to",
            "set_channel": "Then set the channel to",
            "is_active": "The rule is in use",
        }

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["set_fund"].queryset = Fund.objects.filter(is_active=True)
        self.fields["set_channel"].queryset = Channel.objects.filter(is_disabled=False)
        existing = list(self.instance.conditions or []) if self.instance.pk else []
        for row in range(1, CONDITION_ROWS + 1):
            current = existing[row - 1] if row <= len(existing) else {}
            value = current.get("value", "")
            if current.get("field") == "amount" and str(value).lstrip("-").isdigit():
                value = decimal_pounds(int(value))
            self.fields[f"condition_{row}_field"] = forms.ChoiceField(
                label=f"Condition {row}: look at",
                choices=[("", "(no condition)"), *FIELD_CHOICES],
                required=False,
                initial=current.get("field", ""),
            )
            self.fields[f"condition_{row}_operator"] = forms.ChoiceField(
                label="which",
                choices=OPERATOR_CHOICES,
                required=False,
                initial=current.get("operator", "equals"),
            )
            self.fields[f"condition_{row}_value"] = forms.CharField(
                label="this value",
                required=False,
                max_length=200,
                initial=value,
                help_text="Amounts in pounds and pence, like 10.00" if row == 1 else "",
            )
        self._decorate_widgets()

    def clean(self) -> dict:
        cleaned = super().clean()
        conditions = []
        for row in range(1, CONDITION_ROWS + 1):
            field = cleaned.get(f"condition_{row}_field")
            if not field:
                continue
            operator = cleaned.get(f"condition_{row}_operator") or "equals"
            value = (cleaned.get(f"condition_{row}_value") or "").strip()
            if not value:
                self.add_error(f"condition_{row}_value", "Enter the value to compare with.")
                continue
            if field == "amount":
                try:
                    value = str(parse_pounds(value))
                except forms.ValidationError as error:
                    self.add_error(f"condition_{row}_value", error)
                    continue
            conditions.append({"field": field, "operator": operator, "value": value})
        self.instance.conditions = conditions
        return cleaned


class CsvMappingForm(GovukModelForm):
    class Meta:
        model = CsvMapping
        fields = [
            "name",
            "delimiter",
            "header_rows",
            "date_format",
            "date_column",
            "amount_column",
            "credit_column",
            "debit_column",
            "reference_column",
            "narrative_column",
            "payer_name_column",
            "currency_column",
            "channel",
        ]
        help_texts = {"name": "Column numbers start at 1; 0 means the file has no such column."}


class ReverseImportForm(GovukForm):
    reason = forms.CharField(
        label="Why is the whole import being reversed?",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=500,
        help_text="This is kept in the audit log and on the reversing journal.",
    )


class ArudForm(GovukForm):
    file = forms.FileField(
        label="ARUDD report (XML)",
        help_text="BACS's Advice of Unpaid Direct Debits, as downloaded from Bacs Payment "
        "Services.",
    )


class DiscardDuplicateForm(GovukForm):
    reason = forms.CharField(
        label="Why is the line being discarded?",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=500,
        help_text="For example: the same payment as the earlier receipt, in both files. "
        "This is kept in the audit log.",
    )
