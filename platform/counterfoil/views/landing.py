from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tenants.models import Council, CouncilStatus


def landing(request: HttpRequest) -> HttpResponse:
    """The platform's front page: what Counterfoil is, and which councils it hosts."""
    councils = Council.objects.filter(status=CouncilStatus.ACTIVE).prefetch_related("domains")
    return render(request, "counterfoil/landing.html", {"councils": councils})
