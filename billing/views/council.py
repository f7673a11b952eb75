"""A council admin's Billing page on the council's host: who is invoiced, and the invoices."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from billing.actions.customers import update_billing_details
from billing.cost_statement import council_statement
from billing.models import BillingAccount, Invoice
from billing.views.permissions import billing_role_required
from tenants.govuk_forms import GovukForm


class BillingDetailsForm(GovukForm):
    contact_name = forms.CharField(label="Billing contact", max_length=200, required=False)
    contact_email = forms.EmailField(label="Email address for invoices", required=False)
    po_number = forms.CharField(
        label="Purchase-order number",
        help_text="Shown on every invoice",
        max_length=140,
        required=False,
    )


@billing_role_required
def billing_page(request: HttpRequest) -> HttpResponse:
    council = request.tenant
    account = BillingAccount.objects.filter(council=council).first()
    if request.method == "POST":
        form = BillingDetailsForm(request.POST)
        if form.is_valid():
            try:
                update_billing_details(
                    council=council, acting_user=request.user, **form.cleaned_data
                )
            except ValidationError as refused:
                form.add_error(None, refused.messages[0])
            else:
                messages.success(request, "Billing details saved")
                return redirect("billing:council-billing")
    else:
        initial = {}
        if account:
            initial = {
                "contact_name": account.contact_name,
                "contact_email": account.contact_email,
                "po_number": account.po_number,
            }
        form = BillingDetailsForm(initial=initial)
    invoices = (
        Invoice.objects.filter(account__council=council) if account else Invoice.objects.none()
    )
    return render(
        request,
        "billing/council_billing.html",
        {
            "account": account,
            "form": form,
            "invoices": invoices,
            "statement": council_statement(council, _year(request)),
        },
    )


def _year(request: HttpRequest) -> int | None:
    try:
        return int(request.GET.get("year", ""))
    except ValueError:
        return None
