"""The council's team pages, under /team/ on a council's host, and the invitation link."""

from django.urls import path

from tenants.views import audit, domains, identity_provider, onboarding, team

app_name = "team"
urlpatterns = [
    path("", team.team, name="list"),
    path("invite/", team.invite, name="invite"),
    path("members/<int:pk>/role/", team.change_member_role, name="change-role"),
    path("members/<int:pk>/remove/", team.remove, name="remove"),
    path("invitations/<int:pk>/revoke/", team.revoke, name="revoke"),
    path("councils/", team.your_councils, name="councils"),
    path("audit/", audit.audit_log, name="audit"),
    path("domains/", domains.domain_list, name="domains"),
    path("domains/add/", domains.add, name="domain-add"),
    path("domains/<int:pk>/verify/", domains.verify, name="domain-verify"),
    path("domains/<int:pk>/primary/", domains.primary, name="domain-primary"),
    path("domains/<int:pk>/remove/", domains.remove, name="domain-remove"),
    path(
        "sign-in/",
        identity_provider.identity_provider_settings,
        name="identity-provider",
    ),
    path("sign-in/remove/", identity_provider.remove, name="identity-provider-remove"),
    # The emailed invitation link: open to anyone holding the token.
    path("join/<str:token>/", onboarding.accept, name="join"),
]
