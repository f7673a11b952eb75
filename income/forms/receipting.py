"""The cash-office form: who paid, how, and which funds the money is for."""

import datetime

from django import forms
from django.forms import formset_factory

from counterfoil.govuk_forms import GovukForm
from income.forms.fields import FundAmountForm
from income.models import Channel


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


class PaymentLineForm(FundAmountForm):
    """A line of a counter payment: the fund, the payer's reference for it, the amount."""

    reference = forms.CharField(label="Reference", max_length=50, required=False)
    field_order = ["fund", "reference", "amount"]


PaymentLineFormSet = formset_factory(PaymentLineForm, extra=3, max_num=10)
