"""Applying to join, on the platform's host."""

from django.urls import path

from tenants.views import onboarding

urlpatterns = [
    path("", onboarding.apply, name="apply"),
    path("submitted/", onboarding.apply_submitted, name="apply-submitted"),
]
