from django import forms

from income.forms.fields import PoundsField
from income.models import Channel, Fund, ReceiptStatus
from income.receipt_search import MIN_FRAGMENT, ReceiptQuery
from tenants.govuk_forms import GovukForm

DATE = {"widget": forms.DateInput(format="%d/%m/%Y"), "input_formats": ["%d/%m/%Y", "%Y-%m-%d"]}


class ReceiptSearchForm(GovukForm):
    reference = forms.CharField(
        label="Reference", required=False, max_length=51,
        help_text="The whole reference, or its start followed by * (for example 5001*)",
    )  # fmt: skip
    payer = forms.CharField(
        label="Payer's name", required=False, max_length=100,
        help_text=f"Any part of the name, at least {MIN_FRAGMENT} letters",
    )  # fmt: skip
    amount = PoundsField(label="Amount", required=False)
    received_from = forms.DateField(label="Received from", required=False, **DATE)
    received_to = forms.DateField(label="Received to", required=False, **DATE)
    fund = forms.ModelChoiceField(queryset=Fund.objects.none(), required=False, label="Fund")
    channel = forms.ModelChoiceField(
        queryset=Channel.objects.all(), required=False, label="Channel"
    )
    status = forms.ChoiceField(
        choices=[("", "Any"), *ReceiptStatus.choices], required=False, label="Status"
    )

    def __init__(self, *args: object, funds: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["fund"].queryset = funds
        self.fields["fund"].empty_label = "Any fund"
        self.fields["channel"].empty_label = "Any channel"

    def clean_payer(self) -> str:
        payer = self.cleaned_data["payer"].strip()
        if payer and len(payer) < MIN_FRAGMENT:
            raise forms.ValidationError(f"Enter at least {MIN_FRAGMENT} letters of the name.")
        return payer

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("received_from"), data.get("received_to")
        if start and end and end < start:
            self.add_error("received_to", "The end date must be on or after the start date.")
        return data

    def to_query(self) -> ReceiptQuery:
        data = self.cleaned_data
        return ReceiptQuery(
            reference=data.get("reference", "").strip(),
            payer=data.get("payer", ""),
            amount_pence=data.get("amount"),
            received_from=data.get("received_from"),
            received_to=data.get("received_to"),
            fund=data.get("fund"),
            channel=data.get("channel"),
            status=data.get("status", ""),
        )
