from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.cache import never_cache


@never_cache  # as counterfoil.views.health.live, so both answers carry the same headers
def live(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


# A signed-in person's empty page: login_required loads the session and the user, as our
# membership check does on every signed-in request.
urlpatterns = [path("health/live", live), path("members/live", login_required(live))]
