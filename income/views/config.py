"""The council's configuration pages, one set for every kind in income.config_registry."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from income.actions.config import import_config_csv, save_config, set_enabled
from income.config_registry import ENTITIES, ConfigEntity
from income.formats.config_csv import export_csv
from income.forms.config import TryReferenceForm
from income.models import ReferenceRule
from tenants.audit.models import AuditEvent
from tenants.capabilities import Capability, council_capabilities
from tenants.view_permissions import council_capability_required

MAX_IMPORT_BYTES = 2 * 1024 * 1024


def _entity(slug: str) -> ConfigEntity:
    try:
        return ENTITIES[slug]
    except KeyError:
        raise Http404("No such configuration") from None


@council_capability_required(Capability.VIEW_INCOME)
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "income/config/index.html", {"entities": ENTITIES.values()})


@council_capability_required(Capability.VIEW_INCOME)
def object_list(request: HttpRequest, slug: str) -> HttpResponse:
    entity = _entity(slug)
    objects = entity.model.objects.all()
    if request.GET.get("format") == "csv":
        response = HttpResponse(export_csv(entity, objects), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="{slug}.csv"'
        return response
    rows = [(obj, [getattr(obj, column) for column in entity.columns]) for obj in objects]
    return render(
        request,
        "income/config/list.html",
        {
            "entity": entity,
            "rows": rows,
            "headings": [entity.model._meta.get_field(c).verbose_name for c in entity.columns],
            "may_change": Capability.CONFIGURE_INCOME in council_capabilities(request.membership),
        },
    )


@council_capability_required(Capability.VIEW_INCOME)
def edit(request: HttpRequest, slug: str, pk: int | None = None) -> HttpResponse:
    entity = _entity(slug)
    instance = get_object_or_404(entity.model, pk=pk) if pk else None
    may_change = Capability.CONFIGURE_INCOME in council_capabilities(request.membership)
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
        context["history"] = AuditEvent.objects.filter(
            target_type=instance._meta.label, target_id=str(instance.pk)
        ).order_by("-occurred_at")[:50]
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


@council_capability_required(Capability.CONFIGURE_INCOME)
def import_file(request: HttpRequest, slug: str) -> HttpResponse:
    entity = _entity(slug)
    errors: list[str] = []
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
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
