"""Pages deciding a damaged file's held import: import it anyway (with a reason), or cancel
it. The forms sit on the import's own page; these take their posts (and show a form again
when it needs correcting)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from income.actions.damaged_imports import cancel_held_import, import_held_file_anyway
from income.imports.held_forms import CancelHeldImportForm, ImportAnywayForm
from income.models import ImportBatch
from tenants.capabilities import Capability
from tenants.view_permissions import council_capability_required


@council_capability_required(Capability.REVIEW_IMPORT_EXCEPTIONS)
def import_anyway(request: HttpRequest, pk: int) -> HttpResponse:
    batch = get_object_or_404(ImportBatch, pk=pk)
    form = ImportAnywayForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            import_held_file_anyway(
                council=request.council,
                batch=batch,
                reason=form.cleaned_data["reason"],
                acting_user=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Import {batch.pk} is being imported anyway")
            return redirect("income:import", pk=batch.pk)
    return render(
        request,
        "income/imports/held_decision.html",
        {"batch": batch, "form": form, "anyway": True},
    )


@council_capability_required(Capability.REVIEW_IMPORT_EXCEPTIONS)
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    batch = get_object_or_404(ImportBatch, pk=pk)
    form = CancelHeldImportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            cancel_held_import(
                council=request.council,
                batch=batch,
                reason=form.cleaned_data["reason"],
                acting_user=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Import {batch.pk} cancelled: nothing was imported")
            return redirect("income:import", pk=batch.pk)
    return render(
        request,
        "income/imports/held_decision.html",
        {"batch": batch, "form": form, "anyway": False},
    )
