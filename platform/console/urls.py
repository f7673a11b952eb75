from django.urls import path

from console.views import councils

app_name = "console"
urlpatterns = [
    path("", councils.council_list, name="councils"),
]
