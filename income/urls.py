from django.urls import path

from income.views import home

app_name = "income"
urlpatterns = [
    path("", home.council_home, name="home"),
]
