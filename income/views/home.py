from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from income.models import Fund, WorkerHeartbeat


@login_required
def council_home(request: HttpRequest) -> HttpResponse:
    """A member's landing page on their council's host."""
    context = {
        "funds": Fund.objects.filter(is_active=True),
        "last_heartbeat": WorkerHeartbeat.objects.order_by("-recorded_at").first(),
    }
    return render(request, "income/home.html", context)
