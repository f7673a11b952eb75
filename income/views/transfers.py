from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from income.actions.transfers import reverse_transfer, transfer_between_funds
from income.forms.held_lines import chosen_line, held_line_choices
from income.forms.work import NoteForm, TransferForm
from income.fund_visibility import visible_funds, visible_receipts
from income.models import Fund, Journal, JournalKind, Posting
from tenants.capabilities import Capability
from tenants.view_permissions import council_capability_required


@council_capability_required(Capability.WORK_SUSPENSE)
def transfer(request: HttpRequest, number: str) -> HttpResponse:
    receipt = get_object_or_404(visible_receipts(request.membership), number=number)
    visible_fund_ids = set(visible_funds(request.membership).values_list("pk", flat=True))
    form = TransferForm(
        request.POST or None,
        from_lines=[
            choice
            for choice in held_line_choices(receipt, funds_only=True)
            if chosen_line(choice[0])[0] in visible_fund_ids
        ],
        to_funds=visible_funds(request.membership).filter(is_active=True),
    )
    if request.method == "POST" and form.is_valid():
        fund_id, reference = chosen_line(form.cleaned_data["from_fund"])
        try:
            transfer_between_funds(
                council=request.council,
                receipt=receipt,
                from_fund=Fund.objects.get(pk=fund_id),
                reference=reference,
                to_fund=form.cleaned_data["to_fund"],
                amount_pence=form.cleaned_data["amount"],
                note=form.cleaned_data["note"],
                acting_user=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Transfer posted")
            return redirect("income:receipt", number=receipt.number)
    return render(request, "income/transfers/transfer.html", {"receipt": receipt, "form": form})


@council_capability_required(Capability.WORK_SUSPENSE)
def reverse(request: HttpRequest, pk: int) -> HttpResponse:
    journal = get_object_or_404(
        Journal, pk=pk, kind__in=[JournalKind.TRANSFER, JournalKind.SUSPENSE_ALLOCATION]
    )
    receipt_number = (
        Posting.objects.filter(journal=journal).values_list("receipt__number", flat=True).first()
    )
    if not visible_receipts(request.membership).filter(number=receipt_number).exists():
        raise Http404("No such journal")
    form = NoteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            reverse_transfer(
                council=request.council,
                journal=journal,
                reason=form.cleaned_data["note"],
                acting_user=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"J{journal.pk} reversed")
            return redirect("income:receipt", number=receipt_number)
    return render(
        request,
        "income/transfers/reverse.html",
        {"journal": journal, "form": form, "receipt_number": receipt_number},
    )
