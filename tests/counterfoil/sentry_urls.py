"""The council URLs plus one view that fails, for the Sentry tests only."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def failing_view(request: HttpRequest) -> HttpResponse:
    payer_name = request.GET["payer"]  # noqa: F841 — a local Sentry would otherwise capture
    name = request.user.get_full_name()  # noqa: F841
    raise ValueError(
        f"Payment by {request.user.get_full_name()} <{request.user.email}> "
        "with card 4444 3333 2222 1111 failed"
    )


urlpatterns = [
    path("boom/", failing_view),
    path("", include("counterfoil.urls_council")),
]
