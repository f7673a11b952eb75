from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from income.dashboard import build_dashboard
from income.models import WorkerHeartbeat
from income.worker_status import worker_status


@login_required
def council_home(request: HttpRequest) -> HttpResponse:
    """A member's landing page: the council's income at a glance."""
    today = timezone.localdate()
    last_heartbeat = WorkerHeartbeat.objects.order_by("-recorded_at").first()
    context = {
        "today": today,
        "dashboard": build_dashboard(today, getattr(request, "membership", None)),
        "worker": worker_status(
            now=timezone.now(),
            last_heartbeat_at=last_heartbeat.recorded_at if last_heartbeat else None,
            council_since=request.council.created,
        ),
    }
    return render(request, "income/home.html", context)
