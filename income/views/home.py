from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from income.dashboard import build_dashboard
from income.worker_status import worker_status


@login_required
def council_home(request: HttpRequest) -> HttpResponse:
    """A member's landing page: the council's income at a glance."""
    today = timezone.localdate()
    dashboard = build_dashboard(today, getattr(request, "membership", None))
    context = {
        "today": today,
        "dashboard": dashboard,
        # The worker's last heartbeat comes with the dashboard's one statement.
        "worker": worker_status(
            now=timezone.now(),
            last_heartbeat_at=dashboard.worker_seen_at,
            council_since=request.council.created,
        ),
    }
    return render(request, "income/home.html", context)
