"""The council's configuration pages, one set for every kind in income.configuration.registry."""

import datetime

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from income.actions.config import import_config_csv, save_config, set_enabled
from income.configuration.csv_rows import export_csv
from income.configuration.registry import ENTITIES, Column, ConfigEntity
from income.forms.config import TryReferenceForm
from income.models import ReferenceRule
from income.money import format_pounds
from tenants.audit.models import AuditEvent
from tenants.capabilities import Capability
from tenants.upload_limits import upload_limit, upload_refusal
from tenants.view_permissions import council_capability_required, member_may

MAX_IMPORT_BYTES = 2 * 1024 * 1024


def _entity(slug: str) -> ConfigEntity:
    try:
        return ENTITIES[slug]
    except KeyError:
        raise Http404("No such configuration") from None


@council_capability_required(Capability.VIEW_INCOME)
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "income/config/index.html", {"entities": ENTITIES.values()})


BLANK = "\N{EN DASH}"


def _display(obj: models.Model, name: str) -> str:
    """One field's value as a person reads it: pounds, percentages, dates, names."""
    field = obj._meta.get_field(name)
    value = getattr(obj, name)
    if field.many_to_many:
        return ", ".join(str(item) for item in value.all())
    if value is None or value == "":
        return "no limit" if name.endswith("_pence") else BLANK
    if name.endswith("_pence"):
        return format_pounds(value)
    if name == "rate_basis_points":
        whole, part = divmod(value, 100)
        return f"{whole}.{part:02d}%"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime.date):
        return f"{value:%-d %b %Y}"
    if getattr(field, "choices", None):
        return str(getattr(obj, f"get_{name}_display")())
    return str(value)


def _columns(entity: ConfigEntity) -> list[Column]:
    return [
        column
        if isinstance(column, Column)
        else Column(str(entity.model._meta.get_field(column).verbose_name).capitalize(), (column,))
        for column in entity.columns
    ]


def _cell(obj: models.Model, column: Column) -> str:
    values = [_display(obj, name) for name in column.fields]
    return "" if all(value == BLANK for value in values) else column.joiner.join(values)


def _listed(entity: ConfigEntity, columns: list[Column]) -> models.QuerySet:
    """Every object, with what its columns show fetched in a fixed number of queries."""
    related, many = [], []
    for name in {name for column in columns for name in column.fields}:
        field = entity.model._meta.get_field(name)
        if field.many_to_many:
            many.append(name)
        elif field.is_relation:
            related.append(name)
    return entity.model.objects.select_related(*related).prefetch_related(*many)


@council_capability_required(Capability.VIEW_INCOME)
def object_list(request: HttpRequest, slug: str) -> HttpResponse:
    entity = _entity(slug)
    if request.GET.get("format") == "csv":
        response = HttpResponse(
            export_csv(entity, entity.model.objects.all()), content_type="text/csv"
        )
        response["Content-Disposition"] = f'attachment; filename="{slug}.csv"'
        return response
    columns = _columns(entity)
    objects = _listed(entity, columns)
    filter_choices, chosen = None, request.GET.get(entity.list_filter or "", "")
    if entity.list_filter:
        related = entity.model._meta.get_field(entity.list_filter).related_model
        filter_choices = [(str(item.pk), str(item)) for item in related.objects.all()]
        filter_choices.append(("none", "Not in a group"))
        if chosen == "none":
            objects = objects.filter(**{f"{entity.list_filter}__isnull": True})
        elif chosen.isdigit():
            objects = objects.filter(**{entity.list_filter: int(chosen)})
        else:
            chosen = ""
    rows = [
        (obj, [_cell(obj, column) for column in columns], entity.is_enabled(obj)) for obj in objects
    ]
    return render(
        request,
        "income/config/list.html",
        {
            "entity": entity,
            "rows": rows,
            "headings": [column.heading for column in columns],
            "filter_choices": filter_choices,
            "filter_label": entity.list_filter.replace("_", " ").capitalize()
            if entity.list_filter
            else "",
            "chosen": chosen,
            "may_change": member_may(request, Capability.CONFIGURE_INCOME),
        },
    )


def _changes(event: AuditEvent) -> list[tuple[str, object, object]]:
    """What a change changed: the fields whose values differ before and after."""
    before, after = event.before or {}, event.after or {}
    if not before:
        return []
    return [
        (name.replace("_", " "), before.get(name), after.get(name))
        for name in sorted(set(before) | set(after))
        if name != "id" and before.get(name) != after.get(name)
    ]


@council_capability_required(Capability.VIEW_INCOME)
def edit(request: HttpRequest, slug: str, pk: int | None = None) -> HttpResponse:
    entity = _entity(slug)
    instance = get_object_or_404(entity.model, pk=pk) if pk else None
    may_change = member_may(request, Capability.CONFIGURE_INCOME)
    form = entity.form(request.POST or None, instance=instance)
    if request.method == "POST":
        if not may_change:
            raise PermissionDenied("Only council admins change the configuration.")
        if form.is_valid():
            obj = save_config(
                council=request.council, entity=entity, form=form, acting_user=request.user
            )
            messages.success(request, f"Saved {obj}")
            return redirect("income:config-list", slug=slug)
    context = {"entity": entity, "form": form, "object": instance, "may_change": may_change}
    if isinstance(instance, ReferenceRule) and "reference" in request.GET:
        trial = TryReferenceForm(request.GET)
        if trial.is_valid():
            context["trial"] = instance.check_reference(trial.cleaned_data["reference"])
            context["trial_reference"] = trial.cleaned_data["reference"]
    if instance is not None:
        events = AuditEvent.objects.filter(
            target_type=instance._meta.label, target_id=str(instance.pk)
        ).order_by("-occurred_at", "-id")[:50]
        context["history"] = [(event, _changes(event)) for event in events]
    return render(request, "income/config/edit.html", context)


@require_POST
@council_capability_required(Capability.CONFIGURE_INCOME)
def toggle(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    entity = _entity(slug)
    obj = get_object_or_404(entity.model, pk=pk)
    set_enabled(
        council=request.council,
        entity=entity,
        obj=obj,
        enabled=request.POST.get("enabled") == "1",
        acting_user=request.user,
    )
    messages.success(request, f"Updated {obj}")
    return redirect("income:config-list", slug=slug)


@upload_limit(MAX_IMPORT_BYTES)
@council_capability_required(Capability.CONFIGURE_INCOME)
def import_file(request: HttpRequest, slug: str) -> HttpResponse:
    entity = _entity(slug)
    errors: list[str] = []
    if request.method == "POST":
        upload = request.FILES.get("file")
        refusal = upload_refusal(request)
        if refusal:
            errors = [refusal]
        elif upload is None:
            errors = ["Choose a CSV file to import."]
        elif upload.size > MAX_IMPORT_BYTES:
            errors = ["The file is larger than 2 MB: is it the right file?"]
        else:
            try:
                text = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                errors = ["The file is not UTF-8 text: save it from your spreadsheet as CSV UTF-8."]
            else:
                try:
                    result = import_config_csv(
                        council=request.council, entity=entity, text=text, acting_user=request.user
                    )
                except ValidationError as error:
                    errors = error.messages
                else:
                    errors = result.errors
                    if not errors:
                        messages.success(
                            request, f"Imported: {result.created} new, {result.updated} changed"
                        )
                        return redirect("income:config-list", slug=slug)
    return render(request, "income/config/import.html", {"entity": entity, "errors": errors})
