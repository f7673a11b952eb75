"""The forms that decide a damaged file's held import: import it anyway, or cancel it."""

from django import forms

from tenants.govuk_forms import GovukForm


class ImportAnywayForm(GovukForm):
    # Both forms sit on the import's page: prefixes keep their fields' ids apart.
    prefix = "anyway"
    reason = forms.CharField(
        label="Why import the file although its own totals do not agree with its lines?",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=500,
        help_text="For example, what the sender confirmed. This is kept in the audit log.",
        error_messages={
            "required": "Say why the file should be imported although its own totals do not "
            "agree with its lines."
        },
    )


class CancelHeldImportForm(GovukForm):
    prefix = "cancel"
    reason = forms.CharField(
        label="Why cancel it? (optional)",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=500,
        required=False,
        help_text="Nothing from the file is imported. It can be uploaded again.",
    )
