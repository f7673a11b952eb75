from django.contrib.admin.views.decorators import staff_member_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tenants.models import Council


@staff_member_required(login_url="account_login")
def council_list(request: HttpRequest) -> HttpResponse:
    """Every council the platform hosts, with its status, hosts and number of members."""
    councils = Council.objects.annotate(member_count=Count("memberships")).prefetch_related(
        "domains"
    )
    return render(request, "console/council_list.html", {"councils": councils})
