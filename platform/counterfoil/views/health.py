"""Liveness (the process answers) and readiness (it can serve: database, broker, and the
database at this release; counterfoil.readiness)."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

from counterfoil.readiness import readiness


@never_cache
def live(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
def ready(request: HttpRequest) -> JsonResponse:
    state = readiness()
    body = {
        "status": "ok" if state.ready else "unavailable",
        "database": state.database,
        "broker": state.broker,
        "migrations": state.migrations,
    }
    return JsonResponse(body, status=200 if state.ready else 503)
