"""Pages for the unexplained debits worklist: the open debits, and explaining one."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from income.actions.unexplained_debits import reopen_unexplained_debit, resolve_unexplained_debit
from income.forms.unexplained_debits import ResolveDebitForm
from income.fund_visibility import visible_funds
from income.models import UnexplainedDebit, UnexplainedDebitStatus
from income.unexplained_debits import open_debits, unexplained_debits_balance
from tenants.capabilities import Capability
from tenants.view_permissions import council_capability_required, member_may

SHOWN = 500


@council_capability_required(Capability.VIEW_INCOME)
def worklist(request: HttpRequest) -> HttpResponse:
    debits = list(open_debits()[: SHOWN + 1])
    explained = (
        UnexplainedDebit.objects.filter(status=UnexplainedDebitStatus.RESOLVED)
        .select_related("channel", "receipt", "fund")
        .order_by("-resolved_at")[:20]
    )
    return render(
        request,
        "income/unexplained_debits/worklist.html",
        {
            "debits": debits[:SHOWN],
            "more": len(debits) > SHOWN,
            "total": unexplained_debits_balance(),
            "explained": explained,
            "may_resolve": member_may(request, Capability.REVIEW_IMPORT_EXCEPTIONS),
        },
    )


@council_capability_required(Capability.REVIEW_IMPORT_EXCEPTIONS)
def resolve(request: HttpRequest, pk: int) -> HttpResponse:
    debit = get_object_or_404(UnexplainedDebit.objects.select_related("channel", "batch"), pk=pk)
    funds = visible_funds(request.membership)
    if request.method == "POST" and request.POST.get("decision") == "reopen":
        return _reopen(request, debit)
    form = ResolveDebitForm(request.POST or None, funds=funds)
    if request.method == "POST" and form.is_valid():
        try:
            journal = resolve_unexplained_debit(
                council=request.council,
                debit=debit,
                resolution=form.cleaned_data["resolution"],
                receipt=form.cleaned_data.get("receipt"),
                fund=form.cleaned_data.get("fund"),
                reason=form.cleaned_data["reason"],
                acting_user=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request, f"Debit on line {debit.line_number} explained by journal J{journal.pk}"
            )
            return redirect("income:unexplained-debits")
    return render(request, "income/unexplained_debits/resolve.html", {"debit": debit, "form": form})


def _reopen(request: HttpRequest, debit: UnexplainedDebit) -> HttpResponse:
    try:
        journal = reopen_unexplained_debit(
            council=request.council,
            debit=debit,
            reason=request.POST.get("reason", ""),
            acting_user=request.user,
        )
    except ValidationError as error:
        return render(
            request,
            "income/unexplained_debits/resolve.html",
            {"debit": debit, "reopen_error": " ".join(error.messages)},
        )
    messages.success(
        request,
        f"The explanation of line {debit.line_number} was undone by journal J{journal.pk}: "
        "explain the debit again",
    )
    return redirect("income:unexplained-debit-resolve", pk=debit.pk)
