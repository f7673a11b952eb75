from django.urls import include, path

from console.views import councils

app_name = "console"
urlpatterns = [
    path("", councils.council_list, name="councils"),
    # Suspend, reactivate, close, and operator-confirmed domains.
    path("", include("console.urls_lifecycle")),
]
