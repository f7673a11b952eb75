"""A form's inputs and selects written in Python (tenants.govuk_form_html) are the markup its
templates write, field for field, in every state a field can be in."""

import pytest
from django import forms
from django.utils import translation

from income.forms.fields import PoundsField
from income.forms.reports import ReportPeriodForm
from income.forms.search import ReceiptSearchForm
from income.models import Channel, Fund
from tenants.govuk_forms import GovukForm
from tests.factories import FundFactory


class EveryKindOfField(GovukForm):
    reference = forms.CharField(
        label="Reference <b>", max_length=20, help_text="As on the bill & the council's letter"
    )
    amount = PoundsField(label="Amount")
    received = forms.DateField(
        label="Received", required=False, widget=forms.DateInput(format="%d/%m/%Y")
    )
    copies = forms.IntegerField(label="Copies", required=False, min_value=1)
    email = forms.EmailField(label="Email", required=False)
    password = forms.CharField(label="Password", required=False, widget=forms.PasswordInput)
    kind = forms.ChoiceField(
        label="Kind",
        choices=[("", "Any"), ("Cards", [("visa", "Visa"), ("mc", "Mastercard")]), ("<x>", "X&Y")],
    )
    paid = forms.NullBooleanField(label="Paid", required=False)
    locked = forms.CharField(label="Locked", required=False, disabled=True, initial="fixed")
    # Rendered by their templates, as before.
    method = forms.ChoiceField(label="Method", choices=[("a", "A"), ("b", "B")],
                               widget=forms.RadioSelect, required=False)  # fmt: skip
    agree = forms.BooleanField(label="Agree", required=False)
    note = forms.CharField(label="Note", required=False, widget=forms.Textarea)
    token = forms.CharField(widget=forms.HiddenInput, required=False)


def assert_same_as_templates(form: forms.BaseForm) -> None:
    written = str(form)
    assert written == form.__html__()
    # Character for character: pages and tests look for exact text (e.g. an apostrophe
    # escaped as &#39;, as Jinja2 escapes it).
    assert written == form.render(template_name="govuk/form.html")


def test_unbound_fields_are_written_as_their_templates_write_them():
    assert_same_as_templates(EveryKindOfField(initial={"reference": "5000<1>", "kind": "mc"}))


def test_bound_fields_with_values_and_errors_are_written_as_their_templates_write_them():
    form = EveryKindOfField(
        {
            "reference": "x" * 30,
            "amount": "12.5p",
            "received": "31/02/2026",
            "copies": "0",
            "email": "not an email",
            "password": "secret",
            "kind": "visa",
            "paid": "true",
            "token": 't"<>',
        }
    )
    assert not form.is_valid()
    assert {"reference", "amount", "received", "copies", "email"} <= set(form.errors)
    assert_same_as_templates(form)
    # The password is not written back into the page.
    assert "secret" not in str(form)


def test_error_prefix_is_welsh_on_a_welsh_page():
    form = EveryKindOfField({"reference": ""})
    form.is_valid()
    with translation.override("cy"):
        written = str(form)
        assert written == form.render(template_name="govuk/form.html")
    assert "Gwall:" in written


@pytest.mark.django_db
def test_receipt_search_and_report_forms_are_written_as_their_templates_write_them(in_council_a):
    FundFactory(code="Q1", name="Quarry <rents>")
    search = ReceiptSearchForm(
        {"reference": "5000*", "payer": "ab", "amount": "1.00", "received_from": "01/01/2026",
         "channel": str(Channel.objects.first().pk), "status": "active"},
        funds=Fund.objects.all(),
    )  # fmt: skip
    assert not search.is_valid()  # the name fragment is too short
    assert_same_as_templates(search)
    assert "Quarry &lt;rents&gt;" in str(search)
    period = ReportPeriodForm({"start": "01/11/2026", "end": "30/11/2026"})
    assert period.is_valid()
    assert_same_as_templates(period)


def test_a_form_with_a_template_of_its_own_keeps_it():
    class OwnTemplate(EveryKindOfField):
        template_name = "django/forms/div.html"

    form = OwnTemplate()
    assert str(form) == form.render(template_name="django/forms/div.html")
    assert str(form).startswith("<div>")
