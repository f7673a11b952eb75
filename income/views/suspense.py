from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from income.actions.receipts import Allocation
from income.actions.suspense import allocate_from_suspense
from income.balances import receipt_allocation_lines
from income.forms.work import FundLineFormSet, NoteForm
from income.fund_visibility import visible_funds, visible_receipts
from income.models import Receipt
from income.money import decimal_pounds
from income.suspense_worklist import suspense_items, suspense_total
from income.unexplained_debits import open_debits_total
from tenants.capabilities import Capability
from tenants.view_permissions import council_capability_required


@council_capability_required(Capability.VIEW_INCOME)
def worklist(request: HttpRequest) -> HttpResponse:
    items = suspense_items(today=timezone.localdate(), visible_to=request.membership)
    return render(
        request,
        "income/suspense/worklist.html",
        {"items": items, "total": suspense_total(), "unexplained": open_debits_total()},
    )


@council_capability_required(Capability.WORK_SUSPENSE)
def allocate(request: HttpRequest, number: str) -> HttpResponse:
    receipt = get_object_or_404(
        visible_receipts(request.membership, Receipt.objects.select_related("channel")),
        number=number,
    )
    waiting = {
        line.reference: pence
        for line, pence in receipt_allocation_lines(receipt).items()
        if line.fund_id is None
    }
    in_suspense = sum(waiting.values())
    funds = visible_funds(request.membership).filter(is_active=True)
    if request.method == "POST":
        lines = FundLineFormSet(request.POST, form_kwargs={"funds": funds})
        note = NoteForm(request.POST)
        if lines.is_valid() and note.is_valid():
            allocations = [
                Allocation(line["fund"], line["amount"], line.get("reference", "").strip())
                for line in lines.cleaned_data
                if line.get("fund")
            ]
            try:
                allocate_from_suspense(
                    council=request.council,
                    receipt=receipt,
                    allocations=allocations,
                    note=note.cleaned_data["note"],
                    acting_user=request.user,
                )
            except ValidationError as error:
                note.add_error(None, error)
            else:
                messages.success(request, f"{receipt.number} allocated from suspense")
                return redirect("income:suspense")
    else:
        # Money a split basket left in suspense waits under each line's reference: offer
        # those lines, so each goes to its fund with its own reference.
        initial = (
            [{"reference": ref, "amount": decimal_pounds(pence)} for ref, pence in waiting.items()]
            if len(waiting) > 1
            else [{"reference": ref} for ref in waiting if ref]
        )
        lines = FundLineFormSet(initial=initial, form_kwargs={"funds": funds})
        note = NoteForm()
    return render(
        request,
        "income/suspense/allocate.html",
        {
            "receipt": receipt,
            "in_suspense": in_suspense,
            "references": [ref for ref in waiting if ref],
            "lines": lines,
            "form": note,
        },
    )
