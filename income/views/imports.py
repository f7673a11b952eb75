"""Pages for payment-file imports: upload, progress, summary, rejected lines, the original
file (served only to the council's members), reversal, import rules and CSV mappings."""

import csv

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from income.actions.imports import (
    MAX_IMPORT_BYTES,
    reverse_import,
    save_csv_mapping,
    save_import_rule,
    upload_import,
)
from income.actions.returned_debits import MAX_ARUDD_BYTES, apply_returned_debits
from income.csv_cells import neutralise
from income.formats.registry import FORMATS
from income.fund_visibility import is_restricted, visible_receipts
from income.imports.damaged import first_lines
from income.imports.duplicates import earlier_reversed_imports, waiting_possible_duplicates
from income.imports.forms import (
    CONDITION_ROWS,
    ArudForm,
    CsvMappingForm,
    ImportRuleForm,
    ReverseImportForm,
    UploadForm,
)
from income.imports.held_forms import CancelHeldImportForm, ImportAnywayForm
from income.imports.rules_sql import FIELD_CHOICES, OPERATOR_CHOICES
from income.imports.storage import import_files
from income.models import (
    CsvMapping,
    ImportBatch,
    ImportRule,
    ImportStatus,
    ReturnedDebit,
    ReturnedDebitStatus,
)
from income.money import format_pounds
from tenants.capabilities import Capability
from tenants.upload_limits import refuse_oversized_upload, upload_limit
from tenants.view_permissions import council_capability_required, member_may

SHOWN_LINES = 200
REFRESH_SECONDS = 2


@council_capability_required(Capability.VIEW_INCOME)
def import_list(request: HttpRequest) -> HttpResponse:
    batches = ImportBatch.objects.all()[:100]
    return render(
        request,
        "income/imports/list.html",
        {
            "batches": batches,
            "may_import": member_may(request, Capability.IMPORT_FILES),
            "duplicates_waiting": waiting_possible_duplicates().count(),
        },
    )


@upload_limit(MAX_IMPORT_BYTES)
@council_capability_required(Capability.IMPORT_FILES)
def upload(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and not refuse_oversized_upload(request, form) and form.is_valid():
        try:
            batch = upload_import(
                council=request.council,
                uploaded_file=form.cleaned_data["file"],
                format_name=form.cleaned_data["format"],
                mapping=form.cleaned_data["mapping"],
                default_date=form.cleaned_data["default_date"],
                acting_user=request.user,
            )
        except ValidationError as error:
            form.add_error("file", error)
        else:
            return redirect("income:import", pk=batch.pk)
    return render(
        request,
        "income/imports/upload.html",
        {"form": form, "formats": FORMATS.values()},
    )


@council_capability_required(Capability.VIEW_INCOME)
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    batch = get_object_or_404(ImportBatch.objects.select_related("mapping"), pk=pk)
    # Refreshing works without JavaScript: the HTTP Refresh header, which browsers honour
    # as they do <meta http-equiv="refresh"> (axe-core fails that element under WCAG 2.2.1,
    # the header is the same behaviour with the person able to stop it).
    refreshing = not batch.is_finished and request.GET.get("refresh") != "off"
    context = {
        "batch": batch,
        "format": FORMATS.get(batch.format),
        "refresh_seconds": REFRESH_SECONDS if refreshing else None,
        "rejected": batch.rejected.all()[:SHOWN_LINES],
        "suspended": batch.suspended.select_related("receipt")[:SHOWN_LINES],
        "adjustments": batch.adjustments.select_related("fund", "channel", "receipt")[:SHOWN_LINES],
        "shown_lines": SHOWN_LINES,
        "may_reverse": member_may(request, Capability.IMPORT_FILES)
        and batch.status == ImportStatus.COMPLETED,
        **_held_context(request, batch),
        "duplicates_waiting": waiting_possible_duplicates().filter(batch=batch).count(),
        "earlier_reversed": earlier_reversed_imports(batch),
    }
    response = render(request, "income/imports/detail.html", context)
    if refreshing:
        response["Refresh"] = str(REFRESH_SECONDS)
    if not batch.is_finished:
        response["Cache-Control"] = "no-store"
    return response


class _Echo:
    def write(self, value: str) -> str:
        return value


@council_capability_required(Capability.VIEW_INCOME)
def rejected_csv(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    batch = get_object_or_404(ImportBatch, pk=pk)
    writer = csv.writer(_Echo())

    def rows():
        yield writer.writerow(["line", "content", "reason"])
        for line in batch.rejected.order_by("line_number", "id").iterator(chunk_size=2000):
            yield writer.writerow(
                [line.line_number, neutralise(line.content), neutralise(line.reason)]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{batch.pk}-rejected.csv"'
    return response


@council_capability_required(Capability.VIEW_INCOME)
def original_file(request: HttpRequest, pk: int) -> FileResponse:
    """The uploaded file, from this council's own storage area only (the path is built from
    the council's schema and the batch's digest, never from anything in the request)."""
    batch = get_object_or_404(ImportBatch, pk=pk)
    try:
        stream = import_files().open(batch.sha256)
    except FileNotFoundError:
        raise Http404("The file is no longer kept.") from None
    return FileResponse(
        stream,
        as_attachment=True,
        filename=batch.file_name,
        content_type="application/octet-stream",
    )


@council_capability_required(Capability.IMPORT_FILES)
def reverse(request: HttpRequest, pk: int) -> HttpResponse:
    batch = get_object_or_404(ImportBatch, pk=pk)
    form = ReverseImportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            journal = reverse_import(
                council=request.council,
                batch=batch,
                reason=form.cleaned_data["reason"],
                acting_user=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Import {batch.pk} reversed by journal J{journal.pk}")
            return redirect("income:import", pk=batch.pk)
    return render(request, "income/imports/reverse.html", {"batch": batch, "form": form})


@council_capability_required(Capability.VIEW_INCOME)
def rule_list(request: HttpRequest) -> HttpResponse:
    fields, operators = dict(FIELD_CHOICES), dict(OPERATOR_CHOICES)
    rules = []
    for rule in ImportRule.objects.select_related("set_fund", "set_channel"):
        described = []
        for condition in rule.conditions:
            value = condition.get("value", "")
            if condition.get("field") == "amount" and str(value).lstrip("-").isdigit():
                value = format_pounds(int(value))
            described.append(
                f"{fields.get(condition.get('field'), '?')} "
                f"{operators.get(condition.get('operator'), '?')} “{value}”"
            )
        rules.append((rule, described))
    return render(
        request,
        "income/imports/rules.html",
        {"rules": rules, "may_change": member_may(request, Capability.MANAGE_IMPORT_RULES)},
    )


@council_capability_required(Capability.MANAGE_IMPORT_RULES)
def rule_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    rule = get_object_or_404(ImportRule, pk=pk) if pk else ImportRule()
    form = ImportRuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        try:
            save_import_rule(council=request.council, rule=form.instance, acting_user=request.user)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Import rule “{form.instance.name}” saved")
            return redirect("income:import-rules")
    rows = [
        [form[f"condition_{row}_{part}"] for part in ("field", "operator", "value")]
        for row in range(1, CONDITION_ROWS + 1)
    ]
    return render(
        request,
        "income/imports/rule_edit.html",
        {"form": form, "rule": rule if pk else None, "condition_rows": rows},
    )


@council_capability_required(Capability.VIEW_INCOME)
def mapping_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "income/imports/mappings.html",
        {
            "mappings": CsvMapping.objects.select_related("channel"),
            "may_change": member_may(request, Capability.MANAGE_IMPORT_RULES),
        },
    )


@council_capability_required(Capability.MANAGE_IMPORT_RULES)
def mapping_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    mapping = get_object_or_404(CsvMapping, pk=pk) if pk else CsvMapping()
    form = CsvMappingForm(request.POST or None, instance=mapping)
    if request.method == "POST" and form.is_valid():
        try:
            save_csv_mapping(
                council=request.council, mapping=form.instance, acting_user=request.user
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Column mapping “{form.instance.name}” saved")
            return redirect("income:import-mappings")
    return render(
        request,
        "income/imports/mapping_edit.html",
        {"form": form, "mapping": mapping if pk else None},
    )


@upload_limit(MAX_ARUDD_BYTES)
@council_capability_required(Capability.VIEW_INCOME)
def returned_debits(request: HttpRequest) -> HttpResponse:
    """ARUDD reports: upload one to reverse the returned Direct Debits' receipts; the
    worklist shows what matched no receipt."""
    form = ArudForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if not member_may(request, Capability.IMPORT_FILES):
            return HttpResponse("Your role does not allow this.", status=403)
        if not refuse_oversized_upload(request, form) and form.is_valid():
            try:
                results = apply_returned_debits(
                    council=request.council,
                    uploaded_file=form.cleaned_data["file"],
                    acting_user=request.user,
                )
            except ValidationError as error:
                form.add_error("file", error)
            else:
                reversed_count = sum(r.status == ReturnedDebitStatus.REVERSED for r in results)
                messages.success(
                    request,
                    f"{len(results)} returned Direct Debit{'s' if len(results) != 1 else ''}: "
                    f"{reversed_count} receipt{'s' if reversed_count != 1 else ''} reversed",
                )
                return redirect("income:returned-debits")
    items = ReturnedDebit.objects.select_related("receipt")
    if is_restricted(request.membership):
        # Returns matched to receipts of funds this person does not work are not theirs.
        items = items.filter(
            Q(receipt__isnull=True)
            | Q(receipt__in=visible_receipts(request.membership).values("pk"))
        )
    return render(
        request,
        "income/imports/returned_debits.html",
        {
            "form": form,
            "worklist": items.exclude(status=ReturnedDebitStatus.REVERSED)[:200],
            "reversed_items": items.filter(status=ReturnedDebitStatus.REVERSED)[:100],
            "may_import": member_may(request, Capability.IMPORT_FILES),
        },
    )


def _held_context(request: HttpRequest, batch: ImportBatch) -> dict:
    """A held (damaged) file's first lines as read, and the forms to decide it."""
    if batch.status != ImportStatus.HELD:
        return {}
    may_decide = member_may(request, Capability.REVIEW_IMPORT_EXCEPTIONS)
    return {
        "held_lines": first_lines(batch, SHOWN_LINES),
        "may_decide": may_decide,
        "anyway_form": ImportAnywayForm() if may_decide else None,
        "cancel_form": CancelHeldImportForm() if may_decide else None,
    }
