from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tenants.council_switching import councils_of
from tenants.models import Council, CouncilStatus


def landing(request: HttpRequest) -> HttpResponse:
    """The platform's front page: what Counterfoil is, which councils it hosts, and (signed in)
    the councils the person works for."""
    councils = Council.objects.filter(status=CouncilStatus.ACTIVE).prefetch_related("domains")
    links = (
        councils_of(request.user, port=request.get_port()) if request.user.is_authenticated else []
    )
    return render(request, "counterfoil/landing.html", {"councils": councils, "links": links})
