"""Where each council lives: its database node and size (on a Citus cluster, the worker its
schema is on; on plain PostgreSQL, the single server), and an operator moving a council to
another worker (tenants.actions.council_moves)."""

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from tenants.actions.council_moves import move_council
from tenants.capabilities import Capability, platform_capabilities
from tenants.govuk_forms import GovukForm
from tenants.models import Council, SpareSchema
from tenants.placement import (
    PlacementRefused,
    WorkerNode,
    council_placements,
    on_citus,
    worker_nodes,
)
from tenants.schema_snapshot import current_snapshot
from tenants.view_permissions import platform_capability_required


class MoveForm(GovukForm):
    node = forms.CharField(label="Move to node (host:port)", max_length=300)


@platform_capability_required(Capability.VIEW_PLATFORM)
def council_nodes(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_POST
@platform_capability_required(Capability.MANAGE_COUNCILS)
def move(request: HttpRequest, pk: int) -> HttpResponse:
    council = get_object_or_404(Council, pk=pk)
    form = MoveForm(request.POST, prefix=f"move-{council.pk}")
    if not form.is_valid():
        return _page(request, error="Say which node to move the council to.", status=400)
    try:
        target = WorkerNode.parse(form.cleaned_data["node"])
        moved = move_council(council=council, target=target, acting_user=request.user)
    except PlacementRefused as refusal:
        return _page(request, error=f"{council.name} was not moved: {refusal}.", status=409)
    messages.success(request, f"{council.name} is now on {moved.node}")
    return redirect("console:council-nodes")


def _page(request: HttpRequest, error: str = "", status: int = 200) -> HttpResponse:
    citus = on_citus()
    placements = council_placements()
    workers = worker_nodes()
    rows = []
    for council in Council.objects.order_by("name"):
        placement = placements.get(council.schema_name)
        rows.append(
            {
                "council": council,
                "node": str(placement.node) if placement else "",
                "size_bytes": placement.size_bytes if placement else None,
                "targets": [str(node) for node in workers if placement and node != placement.node],
            }
        )
    snapshot = current_snapshot()
    # The worker of each spare of this release ("" where Citus does not place it).
    spare_nodes = [
        str(placements[name].node) if name in placements else ""
        for name in SpareSchema.objects.filter(
            state=snapshot.state if snapshot else ""
        ).values_list("schema_name", flat=True)
    ]
    context = {
        "rows": rows,
        "spare_nodes": spare_nodes,
        "citus": citus,
        "workers": workers,
        "error": error,
        "may_manage": Capability.MANAGE_COUNCILS in platform_capabilities(request.user),
    }
    return render(request, "console/council_nodes.html", context, status=status)
