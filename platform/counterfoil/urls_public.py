"""URLs of the platform's own host (public schema): the landing page, sign-in, the console."""

from django.urls import include, path

from counterfoil.views import health, landing

urlpatterns = [
    path("", landing.landing, name="landing"),
    path("apply/", include("tenants.urls.onboarding")),
    path("accounts/", include("allauth.urls")),
    path("console/billing/", include("billing.urls.console")),
    path("console/", include("console.urls")),
    path("billing/", include("billing.urls.public")),
    path("health/live", health.live, name="health-live"),
    path("health/ready", health.ready, name="health-ready"),
    # The names load balancers and orchestrators ask for by default.
    path("healthz", health.live, name="healthz"),
    path("readyz", health.ready, name="readyz"),
]
