"""Councils in the operator console: the list with their size and activity, one council's
page, and the platform's own audit log."""

from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from console.council_usage import council_usage
from console.platform_glance import platform_glance
from console.platform_health import platform_health
from console.task_queue import queue_depth
from tenants.audit.models import AuditEvent
from tenants.capabilities import Capability, platform_capabilities
from tenants.models import Council
from tenants.placement import council_placements
from tenants.view_permissions import platform_capability_required


@platform_capability_required(Capability.VIEW_PLATFORM)
def council_list(request: HttpRequest) -> HttpResponse:
    """Every council the platform hosts, with its status, hosts, members, last activity and
    the size of its schema."""
    councils = list(
        Council.objects.annotate(member_count=Count("memberships")).prefetch_related("domains")
    )
    usage = council_usage(councils)
    for council in councils:
        council.usage = usage.get(council.schema_name)
    context = {"councils": councils, "glance": platform_glance(platform_health(), queue_depth())}
    return render(request, "console/council_list.html", context)


@platform_capability_required(Capability.VIEW_PLATFORM)
def council_detail(request: HttpRequest, pk: int) -> HttpResponse:
    council = get_object_or_404(Council.objects.prefetch_related("domains"), pk=pk)
    return render(request, "console/council_detail.html", council_page_context(request, council))


def council_page_context(request: HttpRequest, council: Council, **extra: object) -> dict:
    members = council.memberships.select_related("user").order_by("user__email")
    events = AuditEvent.objects.filter(target_type=Council._meta.label, target_id=str(council.pk))[
        :50
    ]
    from console.views.lifecycle import ReasonForm, TypedNameForm

    forms = {
        "suspend_form": ReasonForm(prefix="suspend"),
        "reactivate_form": ReasonForm(prefix="reactivate"),
        "close_form": ReasonForm(prefix="close"),
        "drop_form": TypedNameForm(),
    }
    return {
        **forms,
        # Not "council": that name tells the page it is on a council's own host.
        "this_council": council,
        "archives": council.archives.all(),
        "members": members,
        "usage": council_usage([council]).get(council.schema_name),
        # On a Citus cluster: the worker holding the council's schema, and its size there.
        "placement": council_placements().get(council.schema_name),
        "events": events,
        "may_manage": Capability.MANAGE_COUNCILS in platform_capabilities(request.user),
        **extra,
    }


@platform_capability_required(Capability.VIEW_PLATFORM)
def audit_log(request: HttpRequest) -> HttpResponse:
    """Platform actions (applications, approvals, suspensions, closures), newest first."""
    page = Paginator(AuditEvent.objects.all(), 50).get_page(request.GET.get("page"))
    return render(request, "console/audit_log.html", {"page": page})
