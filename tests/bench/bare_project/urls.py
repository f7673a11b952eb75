from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.cache import never_cache


@never_cache  # as counterfoil.views.health.live, so both answers carry the same headers
def live(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


urlpatterns = [path("health/live", live)]
