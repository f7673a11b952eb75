"""Pages for exports: targets and their layouts, running an export now, and each run's
contents and file (the same bytes every time it is downloaded)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from income.actions.exports import request_export, run_contents, save_export_target
from income.exports.export_file import open_export
from income.exports.forms import ExportTargetForm
from income.fund_visibility import visible_export_targets
from income.models import ExportRun, ExportStatus, ExportTarget
from tenants.capabilities import Capability
from tenants.models import Membership
from tenants.view_permissions import council_capability_required, member_may

SHOWN = 200
REFRESH_SECONDS = 2


def visible_runs(membership: Membership) -> QuerySet[ExportRun]:
    """Runs of the targets whose funds the member of staff works (their files hold only those)."""
    return ExportRun.objects.filter(target__in=visible_export_targets(membership).values("pk"))


@council_capability_required(Capability.VIEW_INCOME)
def export_list(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        if not member_may(request, Capability.RUN_EXPORTS):
            return HttpResponse("Your role does not allow this.", status=403)
        target = get_object_or_404(
            visible_export_targets(request.membership), pk=request.POST.get("target")
        )
        try:
            run = request_export(council=request.council, target=target, acting_user=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("income:exports")
        return redirect("income:export-run", pk=run.pk)
    return render(
        request,
        "income/exports/list.html",
        {
            "targets": visible_export_targets(
                request.membership, ExportTarget.objects.prefetch_related("funds")
            ),
            "runs": visible_runs(request.membership).select_related("target")[:50],
            "may_run": member_may(request, Capability.RUN_EXPORTS),
            "may_change": member_may(request, Capability.CONFIGURE_INCOME),
        },
    )


@council_capability_required(Capability.CONFIGURE_INCOME)
def target_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    target = get_object_or_404(ExportTarget, pk=pk) if pk else ExportTarget()
    form = ExportTargetForm(request.POST or None, instance=target)
    if request.method == "POST" and form.is_valid():
        target = form.instance
        save_export_target(
            council=request.council,
            target=target,
            funds=form.cleaned_data["funds"],
            acting_user=request.user,
        )
        messages.success(request, f"Export target “{target.name}” saved")
        return redirect("income:exports")
    return render(
        request, "income/exports/target_edit.html", {"form": form, "target": target if pk else None}
    )


@council_capability_required(Capability.VIEW_INCOME)
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(visible_runs(request.membership).select_related("target"), pk=pk)
    # Refreshed by the HTTP Refresh header until the file is made (no JavaScript needed; see
    # the import page for why not a meta refresh).
    refreshing = not run.is_finished and request.GET.get("refresh") != "off"
    response = render(
        request,
        "income/exports/run.html",
        {
            "run": run,
            "lines": run_contents(run, limit=SHOWN),
            "shown": SHOWN,
            "refresh_seconds": REFRESH_SECONDS if refreshing else None,
            "completed": run.status == ExportStatus.COMPLETED,
        },
    )
    if refreshing:
        response["Refresh"] = str(REFRESH_SECONDS)
    if not run.is_finished:
        response["Cache-Control"] = "no-store"
    return response


@council_capability_required(Capability.EXPORT_DATA)
def run_file(request: HttpRequest, pk: int) -> FileResponse:
    run = get_object_or_404(visible_runs(request.membership), pk=pk, status=ExportStatus.COMPLETED)
    try:
        stream = open_export(run.sha256)
    except FileNotFoundError:
        raise Http404("The file is no longer kept.") from None
    return FileResponse(stream, as_attachment=True, filename=run.file_name)
