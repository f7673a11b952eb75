from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from income.dashboard import build_dashboard


@login_required
def council_home(request: HttpRequest) -> HttpResponse:
    """A member's landing page: the council's income at a glance."""
    today = timezone.localdate()
    context = {
        "today": today,
        "dashboard": build_dashboard(today),
    }
    return render(request, "income/home.html", context)
