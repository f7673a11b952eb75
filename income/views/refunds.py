from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from income.actions.refunds import (
    approve_refund,
    mark_refund_paid,
    raise_refund,
    reject_refund,
    rejected_refunds,
)
from income.forms.held_lines import chosen_line, held_line_choices
from income.forms.work import DecisionForm, RaiseRefundForm
from income.fund_visibility import visible_receipts, visible_refunds
from income.models import Fund, Refund, RefundRoute, RefundStatus
from tenants.capabilities import Capability
from tenants.view_permissions import council_capability_required, member_may


@council_capability_required(Capability.VIEW_INCOME)
def refund_list(request: HttpRequest) -> HttpResponse:
    refunds = visible_refunds(request.membership, Refund.objects.select_related("receipt", "fund"))
    return render(
        request,
        "income/refunds/list.html",
        {
            "awaiting": refunds.filter(status=RefundStatus.REQUESTED).order_by("raised_at"),
            "to_pay": refunds.filter(status=RefundStatus.APPROVED, route=RefundRoute.COUNCIL),
            "recent": refunds.exclude(status=RefundStatus.REQUESTED)[:50],
        },
    )


@council_capability_required(Capability.RAISE_REFUNDS)
def raise_for_receipt(request: HttpRequest, number: str) -> HttpResponse:
    receipt = get_object_or_404(visible_receipts(request.membership), number=number)
    form = RaiseRefundForm(request.POST or None, sources=held_line_choices(receipt))
    if request.method == "POST" and form.is_valid():
        fund_id, reference = chosen_line(form.cleaned_data["source"])
        try:
            raise_refund(
                council=request.council,
                receipt=receipt,
                fund=Fund.objects.get(pk=fund_id) if fund_id else None,
                reference=reference,
                amount_pence=form.cleaned_data["amount"],
                reason=form.cleaned_data["reason"],
                acting_user=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Refund raised: someone else must now approve it")
            return redirect("income:receipt", number=receipt.number)
    return render(request, "income/refunds/raise.html", {"receipt": receipt, "form": form})


@council_capability_required(Capability.VIEW_INCOME)
def refund_detail(request: HttpRequest, pk: int) -> HttpResponse:
    refund = get_object_or_404(
        visible_refunds(request.membership, Refund.objects.select_related("receipt", "fund")),
        pk=pk,
    )
    may_decide = (
        member_may(request, Capability.APPROVE_REFUNDS)
        and refund.status == RefundStatus.REQUESTED
        and refund.raised_by_id != request.user.pk
    )
    # Whoever decides sees the refunds rejected on this receipt before (and must confirm it).
    rejected = rejected_refunds(refund) if refund.status == RefundStatus.REQUESTED else []
    form = DecisionForm(request.POST or None, rejected=rejected)
    if request.method == "POST":
        # The actions give the exact refusal (role, own refund, already decided).
        try:
            if "paid" in request.POST:
                mark_refund_paid(council=request.council, refund=refund, acting_user=request.user)
                messages.success(request, "Refund marked as paid")
                return redirect("income:refund", pk=refund.pk)
            if form.is_valid():
                if form.cleaned_data["decision"] == "approve":
                    approve_refund(
                        council=request.council,
                        refund=refund,
                        acting_user=request.user,
                        note=form.cleaned_data["note"],
                        rejected_refunds_seen=form.cleaned_data.get("rejected_refunds_seen", []),
                    )
                    messages.success(request, "Refund approved")
                else:
                    reject_refund(
                        council=request.council,
                        refund=refund,
                        acting_user=request.user,
                        note=form.cleaned_data["note"],
                    )
                    messages.success(request, "Refund rejected")
                return redirect("income:refund", pk=refund.pk)
        except ValidationError as error:
            form.add_error(None, error)
    return render(
        request,
        "income/refunds/detail.html",
        {"refund": refund, "form": form, "may_decide": may_decide, "rejected": rejected},
    )
