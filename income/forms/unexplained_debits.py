"""The form that says what an unexplained debit was."""

from django import forms
from django.db.models import QuerySet

from income.models import DebitResolution, Fund, Receipt
from tenants.govuk_forms import GovukForm


class ResolveDebitForm(GovukForm):
    resolution = forms.ChoiceField(
        label="What was the money?", widget=forms.RadioSelect, choices=DebitResolution.choices
    )
    receipt_number = forms.CharField(
        label="Receipt number", max_length=20, required=False,
        help_text="When taken back from a receipt: for example R1234.",
    )  # fmt: skip
    fund = forms.ModelChoiceField(
        queryset=Fund.objects.none(), required=False, label="Fund",
        help_text="When charged to a fund: for example a refund made outside Counterfoil.",
    )  # fmt: skip
    reason = forms.CharField(
        label="Why", widget=forms.Textarea(attrs={"rows": 3}), max_length=500,
        help_text="This is kept in the audit log.",
    )  # fmt: skip

    def __init__(self, *args: object, funds: QuerySet[Fund], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["fund"].queryset = funds

    def clean(self) -> dict:
        data = super().clean()
        resolution = data.get("resolution")
        if resolution == DebitResolution.RECEIPT:
            number = (data.get("receipt_number") or "").strip().upper()
            receipt = Receipt.objects.filter(number=number).first() if number else None
            if receipt is None:
                self.add_error(
                    "receipt_number",
                    f"There is no receipt {number}." if number else "Give the receipt number.",
                )
            data["receipt"] = receipt
        if resolution == DebitResolution.FUND and data.get("fund") is None:
            self.add_error("fund", "Choose the fund the money is charged to.")
        return data
