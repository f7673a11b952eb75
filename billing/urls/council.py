from django.urls import path

from billing.views import council

app_name = "billing"
urlpatterns = [path("", council.billing_page, name="council-billing")]
