import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from income.actions.cash_up import authorise_cash_up, return_cash_up, submit_cash_up
from income.forms.cash_up import ChequeFormSet, CountForm
from income.models import CashUp, CashUpStatus
from tenants.capabilities import Capability, council_capabilities
from tenants.view_permissions import council_capability_required, member_may


@council_capability_required(Capability.VIEW_INCOME)
def cash_up_list(request: HttpRequest) -> HttpResponse:
    capabilities = council_capabilities(request.membership)
    return render(
        request,
        "income/cash_up/list.html",
        {
            "waiting": CashUp.objects.filter(status=CashUpStatus.SUBMITTED),
            "recent": CashUp.objects.exclude(status=CashUpStatus.SUBMITTED)[:30],
            "may_submit": Capability.TAKE_PAYMENTS in capabilities,
            "may_authorise": Capability.AUTHORISE_CASH_UPS in capabilities,
            "may_see_variance": member_may(request, Capability.AUTHORISE_CASH_UPS),
        },
    )


@council_capability_required(Capability.TAKE_PAYMENTS)
def submit(request: HttpRequest) -> HttpResponse:
    token = request.POST.get("submission_token") or uuid.uuid4().hex
    form = CountForm(request.POST or None, initial={"business_date": timezone.localdate()})
    cheques = ChequeFormSet(request.POST or None, prefix="cheque")
    if request.method == "POST" and form.is_valid() and cheques.is_valid():
        try:
            submit_cash_up(
                council=request.council,
                business_date=form.cleaned_data["business_date"],
                denominations=form.denominations(),
                cheques=[
                    {"drawer": line.get("drawer", ""), "amount_pence": line["amount"]}
                    for line in cheques.cleaned_data
                    if line.get("amount")
                ],
                note=form.cleaned_data["note"],
                till=form.cleaned_data["till"],
                submission_key=token,
                acting_user=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Cash-up submitted: someone else must now authorise it")
            return redirect("income:cash-ups")
    return render(
        request,
        "income/cash_up/submit.html",
        {"form": form, "cheques": cheques, "submission_token": token},
    )


@council_capability_required(Capability.VIEW_INCOME)
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    cash_up = get_object_or_404(CashUp, pk=pk)
    error = None
    returning = request.method == "POST" and request.POST.get("decision") == "return"
    if request.method == "POST":
        try:
            if returning:
                return_cash_up(
                    council=request.council,
                    cash_up=cash_up,
                    reason=request.POST.get("reason", ""),
                    acting_user=request.user,
                )
            else:
                authorise_cash_up(
                    council=request.council, cash_up=cash_up, acting_user=request.user
                )
        except ValidationError as refusal:
            error = " ".join(refusal.messages)
        else:
            done = "returned to the cashier" if returning else "authorised and banked"
            messages.success(request, f"Cash-up {done}")
            return redirect("income:cash-up", pk=cash_up.pk)
    may_authorise = (
        member_may(request, Capability.AUTHORISE_CASH_UPS)
        and cash_up.status == CashUpStatus.SUBMITTED
        and cash_up.cashier_id != request.user.pk
    )
    # The count is blind: what was expected, and so the variance, is for whoever authorises.
    may_see_variance = member_may(request, Capability.AUTHORISE_CASH_UPS)
    covered = (
        cash_up.covered.select_related("receipt__channel").order_by("receipt__pk")
        if may_see_variance
        else None
    )
    return render(
        request,
        "income/cash_up/detail.html",
        {
            "cash_up": cash_up,
            "may_authorise": may_authorise,
            "may_see_variance": may_see_variance,
            "covered": covered,
            "error": error,
            "return_error": error if returning else None,
        },
    )
