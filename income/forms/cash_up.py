"""The cash-up count: how many of each note and coin, and the cheques."""

from django import forms
from django.forms import formset_factory

from income.forms.fields import PoundsField
from income.money import DENOMINATIONS, format_pounds
from tenants.govuk_forms import GovukForm


def denomination_label(pence: int) -> str:
    return format_pounds(pence).replace(".00", "") if pence >= 100 else f"{pence}p"


# More notes or coins of one kind than any till holds.
MAX_COUNT = 1_000_000


class CountForm(GovukForm):
    business_date = forms.DateField(
        label="Day being cashed up",
        help_text="For example, 24/11/2026",
        widget=forms.DateInput(format="%d/%m/%Y"),
        input_formats=["%d/%m/%Y", "%Y-%m-%d"],
    )
    till = forms.CharField(
        label="Till or counter (optional)", required=False, max_length=100,
        help_text="If you cash up more than one till, say which this is, for example Till 2",
    )  # fmt: skip
    note = forms.CharField(
        label="Note", required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=500,
        help_text="Required when the count does not match the takings",
    )  # fmt: skip

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        for pence in DENOMINATIONS:
            # Bounded: a count typed as 10^20 overflowed the total (an error page).
            self.fields[f"count_{pence}"] = forms.IntegerField(
                label=f"{denomination_label(pence)}", min_value=0, max_value=MAX_COUNT,
                required=False,
                error_messages={"max_value": f"Enter a count of no more than {MAX_COUNT:,}."},
                widget=forms.NumberInput(attrs={"class": "govuk-input--width-4"}),
            )  # fmt: skip
        self._decorate_widgets()

    def denominations(self) -> dict[int, int]:
        return {
            pence: self.cleaned_data.get(f"count_{pence}") or 0
            for pence in DENOMINATIONS
            if self.cleaned_data.get(f"count_{pence}")
        }


class ChequeForm(GovukForm):
    drawer = forms.CharField(label="Drawer", max_length=100, required=False)
    amount = PoundsField(label="Amount", required=False)


ChequeFormSet = formset_factory(ChequeForm, extra=5, max_num=50)
