"""The form for adding an event notification endpoint."""

from django import forms

from income.events.addresses import check_endpoint_url
from income.models import EventType
from tenants.govuk_forms import GovukForm


class EndpointForm(GovukForm):
    url = forms.CharField(
        label="Endpoint address",
        max_length=500,
        help_text="Where your system receives notifications, starting https://",
        widget=forms.URLInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
    )
    description = forms.CharField(
        label="Description (optional)",
        required=False,
        max_length=200,
        help_text="For example, the system that receives them.",
    )
    event_types = forms.MultipleChoiceField(
        label="Events to send",
        choices=[(value, f"{value}: {label}") for value, label in EventType.choices],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one of the events listed."},
    )

    def clean_url(self) -> str:
        return check_endpoint_url(self.cleaned_data["url"])
