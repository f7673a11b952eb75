"""Form pieces shared by the money forms: an amount in pounds, and a fund-and-amount line."""

from django import forms

from income.models import Fund
from income.money import parse_pounds
from tenants.govuk_forms import GovukForm


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


class FundAmountForm(GovukForm):
    """One line of a split: a fund (from those offered) and an amount; empty lines are fine."""

    fund = forms.ModelChoiceField(queryset=Fund.objects.none(), label="Fund", required=False)
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


class FundLineForm(FundAmountForm):
    """A line of a payment or of a split: the fund, the payer's reference for it (checked
    against that fund's rule), the amount."""

    reference = forms.CharField(label="Reference", max_length=50, required=False)
    field_order = ["fund", "reference", "amount"]
