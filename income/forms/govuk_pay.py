"""Forms for GOV.UK Pay: the connection settings, the portal basket and phone payments."""

from django import forms
from django.utils.translation import gettext_lazy as _

from income.forms.fields import PoundsField
from income.govuk_pay.connections import allowed_base_urls
from income.models import Fund
from tenants.govuk_forms import GovukForm


class ConnectionForm(GovukForm):
    fund = forms.ModelChoiceField(
        queryset=Fund.objects.none(),
        required=False,
        label="Which payments use this GOV.UK Pay service",
        empty_label="All the council's payments (its default service)",
        help_text="Choose a fund only if its payments go to a different bank account.",
    )
    api_key = forms.CharField(
        label="API key",
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="From GOV.UK Pay's admin tool. Leave blank to keep the key already saved.",
    )
    webhook_secret = forms.CharField(
        label="Webhook signing secret",
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="Shown when you add the webhook in GOV.UK Pay. Leave blank to keep it.",
    )
    base_url = forms.ChoiceField(
        label="GOV.UK Pay address",
        required=False,
        help_text="Changing it clears the saved API key: enter the key again with it.",
    )
    welsh_enabled = forms.BooleanField(
        label="Offer the payment pages in Welsh (Cymraeg)", required=False
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["fund"].queryset = Fund.objects.filter(is_active=True)
        # A choice, never a typed address: the saved API key is sent wherever it points.
        self.fields["base_url"].choices = [
            ("", "Keep the address already saved (GOV.UK Pay for a new service)"),
            *allowed_base_urls(),
        ]


class BasketItemForm(GovukForm):
    """One thing to pay for: the fund (from those open to the public), its reference, amount."""

    fund = forms.ModelChoiceField(
        queryset=Fund.objects.none(),
        label=_("What do you want to pay for?"),
        widget=forms.RadioSelect,
        empty_label=None,
        error_messages={"required": _("Select what you want to pay for")},
    )
    reference = forms.CharField(
        label=_("Reference"),
        max_length=50,
        help_text=_("It is on your bill, notice or letter."),
        error_messages={"required": _("Enter the reference from your bill or notice")},
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
    )
    amount = PoundsField(
        label=_("Amount"),
        help_text=_("In pounds and pence, for example 45.50."),
        error_messages={"required": _("Enter the amount you want to pay")},
    )

    def __init__(self, *args: object, funds: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["fund"].queryset = funds
        self.fields["fund"].label_from_instance = lambda fund: fund.display_name


class PayerForm(GovukForm):
    payer_name = forms.CharField(
        label="Caller's name", max_length=200, required=False, help_text="As they give it."
    )
