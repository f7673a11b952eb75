"""URLs of a council's host (the council's schema)."""

from django.urls import include, path

from counterfoil.views import health
from income.api.app import api_urls
from tenants.views import identity_provider

urlpatterns = [
    # Health first: load balancers call it constantly, so it should match at once.
    path("health/live", health.live, name="health-live"),
    path("health/ready", health.ready, name="health-ready"),
    # The names load balancers and orchestrators ask for by default.
    path("healthz", health.live, name="healthz"),
    path("readyz", health.ready, name="readyz"),
    path("team/", include("tenants.urls.team")),
    path("api/v1/", api_urls()),
    path("billing/", include("billing.urls.council")),
    path("", include("income.urls")),
    # allauth's OpenID Connect callback, answered by ours first: it checks every ID token's
    # signature, where allauth's trusts a token it fetched itself (tenants.id_tokens).
    path(
        "accounts/oidc/<str:provider_id>/login/callback/",
        identity_provider.callback,
        name="council_identity_provider_callback",
    ),
    path("accounts/", include("allauth.urls")),
]
