"""The cash-office form: who paid, how, and which funds the money is for."""

import datetime

from django import forms
from django.db.models import QuerySet
from django.forms import BaseFormSet, formset_factory
from django.http import QueryDict

from income.forms.fields import FundLineForm
from income.models import Channel, Fund
from tenants.govuk_forms import GovukForm


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


# A counter payment's lines: three to start with, "Add another fund" for more, up to ten.
MAX_PAYMENT_LINES = 10
PaymentLineForm = FundLineForm
PaymentLineFormSet = formset_factory(PaymentLineForm, extra=3, max_num=MAX_PAYMENT_LINES)


def with_another_line(data: QueryDict, *, funds: QuerySet[Fund]) -> tuple[PaymentForm, BaseFormSet]:
    """The payment form as it was sent, not yet checked (no errors shown), with one more fund
    line, up to MAX_PAYMENT_LINES: "Add another fund" is a submit button, so it works
    without JavaScript."""
    form = PaymentForm(initial={name: data.get(name) for name in PaymentForm.base_fields})
    prefix = PaymentLineFormSet.get_default_prefix()
    try:
        count = int(data.get(f"{prefix}-TOTAL_FORMS", ""))
    except ValueError:
        count = 0
    count = max(0, min(count, MAX_PAYMENT_LINES))
    initial = [
        {name: data.get(f"{prefix}-{index}-{name}", "") for name in PaymentLineForm.base_fields}
        for index in range(count)
    ]
    lines = PaymentLineFormSet(initial=initial, form_kwargs={"funds": funds})
    lines.extra = 1 if count < MAX_PAYMENT_LINES else 0
    return form, lines
