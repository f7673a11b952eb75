"""The cash-office form: who paid, how, and which funds the money is for."""

import datetime

from django import forms
from django.forms import formset_factory

from counterfoil.govuk_forms import GovukForm
from income.models import Channel, Fund
from income.money import parse_pounds


class PoundsField(forms.Field):
    """An amount typed in pounds and pence, cleaned to integer pence."""

    prefix = "£"
    widget = forms.TextInput

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.widget.attrs.update({"inputmode": "decimal", "spellcheck": "false"})

    def to_python(self, value: object) -> int | None:
        text = str(value or "").strip()
        return parse_pounds(text) if text else None


class PaymentForm(GovukForm):
    channel = forms.ModelChoiceField(
        queryset=Channel.objects.none(),
        widget=forms.RadioSelect,
        label="How are they paying?",
        empty_label=None,
    )
    received_on = forms.DateField(
        label="Date received",
        help_text="For example, 24/11/2026",
        widget=forms.DateInput(format="%d/%m/%Y"),
        input_formats=["%d/%m/%Y", "%Y-%m-%d"],
    )
    payer_name = forms.CharField(label="Payer's name", max_length=200)
    narrative = forms.CharField(
        label="Note (optional)", max_length=300, required=False,
        help_text="Anything that will help someone find or explain this payment later",
    )  # fmt: skip

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["channel"].queryset = Channel.objects.filter(
            taken_by_staff=True, is_disabled=False
        )
        self.fields["received_on"].initial = datetime.date.today


class PaymentLineForm(GovukForm):
    fund = forms.ModelChoiceField(queryset=Fund.objects.none(), label="Fund", required=False)
    reference = forms.CharField(label="Reference", max_length=50, required=False)
    amount = PoundsField(label="Amount", required=False)

    def __init__(self, *args: object, funds: object = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["fund"].queryset = funds if funds is not None else Fund.objects.none()
        self.fields["fund"].empty_label = "Choose a fund"

    def clean(self) -> dict:
        data = super().clean()
        if self.has_changed() and data.get("fund") and data.get("amount") is None:
            self.add_error("amount", "Enter the amount for this fund.")
        if self.has_changed() and data.get("amount") and not data.get("fund"):
            self.add_error("fund", "Choose the fund this amount is for.")
        return data


PaymentLineFormSet = formset_factory(PaymentLineForm, extra=3, max_num=10)
