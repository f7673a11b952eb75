"""The operator console's billing pages: the price book and every council's billing state."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from billing.actions.customers import set_population
from billing.actions.overdue import overdue_invoices
from billing.actions.price_book import add_price_book_row, current_prices
from billing.models import BillingAccount, PriceBookRow, PriceKind
from tenants.capabilities import Capability, platform_capabilities
from tenants.govuk_forms import GovukForm
from tenants.view_permissions import platform_capability_required


class PriceForm(GovukForm):
    kind = forms.ChoiceField(label="What the price is for", choices=PriceKind.choices)
    amount_pence = forms.IntegerField(
        label="Price in pence", help_text="Before VAT; per month for a band", min_value=0
    )
    population_from = forms.IntegerField(
        label="Band starts at population", required=False, min_value=0, initial=0
    )
    allowance_gb = forms.IntegerField(
        label="Free storage allowance in GB", required=False, min_value=0, initial=0
    )
    effective_from = forms.DateField(label="Effective from", help_text="For example, 2027-04-01")


@platform_capability_required(Capability.VIEW_PLATFORM)
def price_book(request: HttpRequest) -> HttpResponse:
    return _price_book(request, PriceForm())


def _price_book(request: HttpRequest, form: PriceForm) -> HttpResponse:
    return render(
        request,
        "billing/price_book.html",
        {
            "rows": PriceBookRow.objects.all(),
            "current": {row.pk for row in current_prices()},
            "form": form,
            "may_edit": Capability.MANAGE_COUNCILS in platform_capabilities(request.user),
        },
    )


@require_POST
@platform_capability_required(Capability.MANAGE_COUNCILS)
def add_price(request: HttpRequest) -> HttpResponse:
    form = PriceForm(request.POST)
    if not form.is_valid():
        return _price_book(request, form)
    data = form.cleaned_data
    try:
        add_price_book_row(
            kind=data["kind"],
            amount_pence=data["amount_pence"],
            effective_from=data["effective_from"],
            population_from=data["population_from"] or 0,
            allowance_gb=data["allowance_gb"] or 0,
            acting_user=request.user,
        )
    except ValidationError as refused:
        form.add_error(None, refused.messages[0])
        return _price_book(request, form)
    messages.success(request, "Price added: run sync_price_book to put it into Stripe")
    return redirect("billing-console:price-book")


class PopulationForm(GovukForm):
    population = forms.IntegerField(label="Population", min_value=0, max_value=20_000_000)


@require_POST
@platform_capability_required(Capability.MANAGE_COUNCILS)
def set_account_population(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(BillingAccount, pk=pk)
    form = PopulationForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Enter the population as a whole number")
        return redirect("billing-console:accounts")
    set_population(
        account=account, population=form.cleaned_data["population"], acting_user=request.user
    )
    messages.success(request, f"Population of {account.council.name} saved")
    return redirect("billing-console:accounts")


@platform_capability_required(Capability.VIEW_PLATFORM)
def accounts(request: HttpRequest) -> HttpResponse:
    rows = (
        BillingAccount.objects.select_related("council")
        .annotate(
            open_invoices=Count("invoices", filter=Q(invoices__status="open")),
            # Overdue as the banners and reminders count it (billing.actions.overdue).
            overdue_invoices=Count(
                "invoices", filter=Q(invoices__in=overdue_invoices().values("pk"))
            ),
        )
        .order_by("council__name")
    )
    may_edit = Capability.MANAGE_COUNCILS in platform_capabilities(request.user)
    return render(request, "billing/accounts.html", {"accounts": rows, "may_edit": may_edit})
