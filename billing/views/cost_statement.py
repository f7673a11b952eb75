"""The cost-sharing statement's pages: the operator's (every council, the costs, the formula,
the true-ups) on the platform host; a council's own is part of its Billing page."""

from datetime import date
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from billing.actions.cost_statement import (
    import_cost_report,
    record_monthly_cost,
    set_cost_sharing_formula,
    settle_true_up,
)
from billing.cost_models import CostSharingFormula
from billing.cost_statement import (
    financial_year_of,
    formula_for,
    months_of_year,
    platform_true_ups,
    statements_for,
    year_label,
)
from billing.formats.aws_cost_report import CostFileRefused
from billing.stripe_gateway import StripeError
from tenants.capabilities import Capability, platform_capabilities
from tenants.govuk_forms import GovukForm
from tenants.models import Council
from tenants.view_permissions import platform_capability_required

MAX_COST_FILE_BYTES = 50 * 1024 * 1024


class CostForm(GovukForm):
    month = forms.DateField(label="Month", help_text="Any day of the month, for example 2026-11-01")
    category = forms.CharField(
        label="What it was for", max_length=100, help_text="For example, Compute"
    )
    amount_pence = forms.IntegerField(label="Cost in pence, before VAT", min_value=0)


class CostFileForm(GovukForm):
    cost_file = forms.FileField(
        label="AWS Cost and Usage Report (CSV)",
        help_text="Billed in pounds; every line of a month replaces that month's categories",
    )


class FormulaForm(GovukForm):
    effective_from = forms.DateField(label="From the month of", help_text="For example, 2027-01-01")
    fixed_percent = forms.IntegerField(
        label="Fixed share by population band (%)", min_value=0, max_value=100
    )
    transactions_percent = forms.IntegerField(
        label="By transactions (%)", min_value=0, max_value=100
    )
    storage_percent = forms.IntegerField(label="By storage (%)", min_value=0, max_value=100)
    tolerance_percent = forms.DecimalField(
        label="True-up tolerance (%)",
        min_value=Decimal(0),
        max_value=Decimal(100),
        decimal_places=2,
    )


def _year(request: HttpRequest) -> int:
    try:
        return int(request.GET.get("year", ""))
    except ValueError:
        return financial_year_of(timezone.localdate())


def _statement_page(
    request: HttpRequest,
    *,
    cost_form: CostForm | None = None,
    file_form: CostFileForm | None = None,
    formula_form: FormulaForm | None = None,
    file_problems: list[str] | None = None,
) -> HttpResponse:
    year = _year(request)
    statements = statements_for(months_of_year(year))
    current = formula_for(timezone.localdate().replace(day=1))
    formula_initial = {
        "effective_from": timezone.localdate().replace(day=1),
        "fixed_percent": current.fixed_percent,
        "transactions_percent": current.transactions_percent,
        "storage_percent": current.storage_percent,
        "tolerance_percent": current.tolerance_percent,
    }
    return render(
        request,
        "billing/cost_statement/platform.html",
        {
            "year": year,
            "year_label": year_label(year),
            "previous_year": year - 1,
            "next_year": year + 1,
            "statements": statements,
            "true_ups": platform_true_ups(year, statements),
            "formulas": CostSharingFormula.objects.all(),
            "current_formula": current,
            "cost_form": cost_form or CostForm(),
            "file_form": file_form or CostFileForm(),
            "formula_form": formula_form or FormulaForm(initial=formula_initial),
            "file_problems": file_problems or [],
            "may_edit": Capability.MANAGE_COUNCILS in platform_capabilities(request.user),
        },
    )


@platform_capability_required(Capability.VIEW_PLATFORM)
def platform_statement(request: HttpRequest) -> HttpResponse:
    return _statement_page(request)


@require_POST
@platform_capability_required(Capability.MANAGE_COUNCILS)
def add_cost(request: HttpRequest) -> HttpResponse:
    form = CostForm(request.POST)
    if form.is_valid():
        try:
            cost = record_monthly_cost(acting_user=request.user, **form.cleaned_data)
        except ValidationError as refused:
            form.add_error(None, refused.messages[0])
        else:
            messages.success(request, f"Cost saved: {cost.category}, {cost.month:%B %Y}")
            return _back(cost.month)
    return _statement_page(request, cost_form=form)


@require_POST
@platform_capability_required(Capability.MANAGE_COUNCILS)
def upload_costs(request: HttpRequest) -> HttpResponse:
    form = CostFileForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["cost_file"]
        if upload.size > MAX_COST_FILE_BYTES:
            form.add_error("cost_file", "The file is larger than 50 MB")
        else:
            try:
                costs = import_cost_report(
                    content=upload.read(), filename=upload.name, acting_user=request.user
                )
            except CostFileRefused as refused:
                form.add_error("cost_file", "The file was not imported: nothing was saved")
                return _statement_page(request, file_form=form, file_problems=refused.problems)
            months = sorted({cost.month for cost in costs})
            messages.success(
                request,
                f"Costs imported for {', '.join(f'{month:%B %Y}' for month in months)}",
            )
            return _back(months[-1])
    return _statement_page(request, file_form=form)


@require_POST
@platform_capability_required(Capability.MANAGE_COUNCILS)
def set_formula(request: HttpRequest) -> HttpResponse:
    form = FormulaForm(request.POST)
    if form.is_valid():
        try:
            set_cost_sharing_formula(acting_user=request.user, **form.cleaned_data)
        except ValidationError as refused:
            form.add_error(None, refused.messages[0])
        else:
            messages.success(request, "Formula saved")
            return redirect("billing-console:statement")
    return _statement_page(request, formula_form=form)


@require_POST
@platform_capability_required(Capability.MANAGE_COUNCILS)
def settle(request: HttpRequest, council_pk: int, year: int) -> HttpResponse:
    council = get_object_or_404(Council, pk=council_pk)
    try:
        settlement = settle_true_up(council=council, year=year, acting_user=request.user)
    except ValidationError as refused:
        messages.error(request, refused.messages[0])
    except StripeError as refused:
        messages.error(request, f"Stripe refused the settlement: {refused.user_message or refused}")
    else:
        messages.success(
            request, f"{council.name} {year_label(year)}: {settlement.get_outcome_display()}"
        )
    return redirect(f"{reverse('billing-console:statement')}?year={year}")


def _back(month: date) -> HttpResponse:
    return redirect(f"{reverse('billing-console:statement')}?year={financial_year_of(month)}")
