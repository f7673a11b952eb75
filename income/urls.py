from django.urls import include, path

from income.views import home

app_name = "income"
urlpatterns = [
    path("", home.council_home, name="home"),
    path("config/reference-rules/", include("income.urls_reference_rules")),
]
