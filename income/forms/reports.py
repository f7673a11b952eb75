from django import forms

from tenants.govuk_forms import GovukForm

DATE = {"widget": forms.DateInput(format="%d/%m/%Y"), "input_formats": ["%d/%m/%Y", "%Y-%m-%d"]}
RANGE_ERROR = "The end date must be the same as or after the start date."


class ReportPeriodForm(GovukForm):
    start = forms.DateField(
        label="From", help_text="For example 01/11/2026", required=True,
        error_messages={"required": "Enter the first day of the report.",
                        "invalid": "Enter the first day as a date, for example 01/11/2026."},
        **DATE,
    )  # fmt: skip
    end = forms.DateField(
        label="To", help_text="For example 30/11/2026", required=True,
        error_messages={"required": "Enter the last day of the report.",
                        "invalid": "Enter the last day as a date, for example 30/11/2026."},
        **DATE,
    )  # fmt: skip

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", RANGE_ERROR)
        return data


class AuditTrailForm(ReportPeriodForm):
    receipt = forms.CharField(
        label="Receipt number", required=False, max_length=20,
        help_text="Only this receipt's records (and its refunds')",
    )  # fmt: skip
    person = forms.EmailField(
        label="Person's email address", required=False, help_text="Only what this person did"
    )
