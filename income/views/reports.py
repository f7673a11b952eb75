"""Reports: the list, and each report over a period on screen, as CSV and printable."""

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from income.forms.reports import AuditTrailForm, ReportPeriodForm
from income.fund_visibility import is_restricted
from income.reports.catalogue import REPORTS
from income.reports.csv_file import report_csv_lines
from income.reports.report import SCREEN_ROWS, Period
from tenants.capabilities import Capability
from tenants.view_permissions import council_capability_required

# The reports add up every fund (takings, VAT, suspense, refunds): someone who works only
# some fund groups would see the others' figures in them.
EVERY_FUND_ONLY = (
    "Reports add up every fund, and you work only some of them: ask someone who works every "
    "fund group."
)


def _refuse_if_restricted(request: HttpRequest) -> None:
    if is_restricted(request.membership):
        raise PermissionDenied(EVERY_FUND_ONLY)


@council_capability_required(Capability.VIEW_INCOME)
def report_list(request: HttpRequest) -> HttpResponse:
    _refuse_if_restricted(request)
    return render(request, "income/reports/index.html", {"reports": REPORTS.values()})


@council_capability_required(Capability.VIEW_INCOME)
def report_detail(request: HttpRequest, slug: str) -> HttpResponse:
    _refuse_if_restricted(request)
    kind = REPORTS.get(slug)
    if kind is None:
        raise Http404("No such report.")
    form_class = AuditTrailForm if kind.narrows else ReportPeriodForm
    today = timezone.localdate()
    if "start" in request.GET or "end" in request.GET:
        form = form_class(request.GET)
    else:
        # Until a period is chosen: today.
        form = form_class({"start": today.strftime("%d/%m/%Y"), "end": today.strftime("%d/%m/%Y")})
    report = None
    if form.is_valid():
        data = form.cleaned_data
        shown = request.GET.get("format", "")
        report = kind.run(
            Period(data["start"], data["end"]),
            receipt_number=data.get("receipt", ""),
            person=data.get("person", ""),
            # The screen and the printout show the first rows; the CSV file holds every one.
            limit=None if shown == "csv" else SCREEN_ROWS,
        )
        if shown == "csv":
            response = StreamingHttpResponse(
                report_csv_lines(report), content_type="text/csv; charset=utf-8"
            )
            name = f"{kind.slug}-{data['start']:%Y-%m-%d}-to-{data['end']:%Y-%m-%d}.csv"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
        if shown == "print":
            return render(request, "income/reports/printable.html", {"report": report})
    query = request.GET.copy()
    query.pop("format", None)
    return render(
        request,
        "income/reports/report.html",
        {"kind": kind, "form": form, "report": report, "query": query.urlencode()},
    )
