"""The council's own audit log, under /team/audit/: everyone whose role may view it (admins,
finance managers, income officers and auditors) sees what happened in this council."""

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tenants.audit.models import AuditEvent
from tenants.capabilities import Capability
from tenants.view_permissions import council_capability_required


@council_capability_required(Capability.VIEW_AUDIT)
def audit_log(request: HttpRequest) -> HttpResponse:
    # The connection is on the council's schema: these are its records and no one else's.
    events = AuditEvent.objects.all()
    action = request.GET.get("action", "").strip()
    if action:
        events = events.filter(action__startswith=action)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(request, "tenants/audit/list.html", {"page": page, "action": action})
