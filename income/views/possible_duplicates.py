"""The possible duplicates worklist: lines an import held back because an earlier import
already brought them in. Everyone who sees income sees the list; finance managers and admins
release or discard each line (the actions check that again)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from income.actions.possible_duplicates import (
    discard_possible_duplicate,
    release_possible_duplicate,
)
from income.imports.duplicates import waiting_possible_duplicates
from income.imports.forms import DiscardDuplicateForm
from income.models import ImportBatch, ImportStatus, PossibleDuplicate, PossibleDuplicateStatus
from tenants.capabilities import Capability
from tenants.view_permissions import council_capability_required, member_may

SHOWN_LINES = 200


@council_capability_required(Capability.VIEW_INCOME)
def worklist(request: HttpRequest) -> HttpResponse:
    decided = request.GET.get("show") == "decided"
    if decided:
        lines = PossibleDuplicate.objects.exclude(status=PossibleDuplicateStatus.HELD).order_by(
            "-decided_at", "-id"
        )
    else:
        lines = waiting_possible_duplicates()
    lines = lines.select_related(
        "batch", "channel", "earlier_receipt", "earlier_receipt__import_batch", "receipt"
    )
    batch = None
    if request.GET.get("batch", "").isdigit():
        batch = get_object_or_404(ImportBatch, pk=int(request.GET["batch"]))
        lines = lines.filter(batch=batch)
    return render(
        request,
        "income/imports/possible_duplicates.html",
        {
            "lines": lines[:SHOWN_LINES],
            "count": lines.count(),
            "shown_lines": SHOWN_LINES,
            "batch": batch,
            "decided": decided,
        },
    )


@council_capability_required(Capability.VIEW_INCOME)
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    line = get_object_or_404(
        PossibleDuplicate.objects.select_related(
            "batch", "channel", "earlier_receipt__channel", "earlier_receipt__import_batch"
        ),
        pk=pk,
    )
    form = DiscardDuplicateForm(request.POST if request.POST.get("action") == "discard" else None)
    if request.method == "POST":
        try:
            if request.POST.get("action") == "release":
                receipt = release_possible_duplicate(
                    council=request.council, line=line, acting_user=request.user
                )
                messages.success(
                    request,
                    f"Line released: receipt {receipt.number} made"
                    if receipt is not None
                    else "Line released: its money was taken back, as the import takes debits",
                )
                return redirect("income:possible-duplicate", pk=line.pk)
            if form.is_valid():
                discard_possible_duplicate(
                    council=request.council,
                    line=line,
                    reason=form.cleaned_data["reason"],
                    acting_user=request.user,
                )
                messages.success(request, "Line discarded: it made no receipt")
                return redirect("income:possible-duplicate", pk=line.pk)
        except ValidationError as error:
            form.add_error(None, error)
        line.refresh_from_db()
    return render(
        request,
        "income/imports/possible_duplicate.html",
        {
            "line": line,
            "form": form,
            "may_decide": member_may(request, Capability.REVIEW_IMPORT_EXCEPTIONS)
            and line.status == PossibleDuplicateStatus.HELD
            and line.batch.status == ImportStatus.COMPLETED,
        },
    )
