"""A council admin sets up, changes and removes the council's identity provider on its screen;
the secret is never shown again and is encrypted at rest; every change is audited."""

import pytest
from allauth.socialaccount.models import SocialApp
from django_tenants.utils import schema_context

from tenants.audit.models import AuditEvent
from tenants.models import CouncilIdentityProvider, CouncilRole
from tenants.secrets_at_rest import decrypt
from tests.conftest import host_client, make_member, sign_in

pytestmark = pytest.mark.django_db

PAGE = "/team/sign-in/"
TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
SECRET = "Xy8Q~entra-client-secret-value-1234"
ENTRA = {
    "kind": "entra",
    "display_name": "Microsoft",
    "entra_tenant_id": TENANT_ID.upper(),
    "issuer_url": "",
    "client_id": "0d6f7c3b-9a57-4ab2-8f5e-1c2d3e4f5a6b",
    "client_secret": SECRET,
    "email_domain": "@North-Test.example",
    "enabled": "on",
}


def admin_client(council):
    return sign_in(host_client(council), make_member(council, CouncilRole.ADMIN))


def audit(council, action):
    with schema_context(council.schema_name):
        return list(AuditEvent.objects.filter(action=action))


def test_an_admin_sets_up_entra_id_and_the_secret_is_never_shown_again(council_a):
    client = admin_client(council_a)

    response = client.post(PAGE, ENTRA)

    assert response.status_code == 302
    provider = CouncilIdentityProvider.objects.select_related("social_app").get(council=council_a)
    app = provider.social_app
    issuer = f"https://login.microsoftonline.com/{TENANT_ID}/v2.0"
    assert (app.provider, app.provider_id, app.client_id) == (
        "openid_connect",
        council_a.slug,
        ENTRA["client_id"],
    )
    assert app.settings == {"server_url": issuer, "fetch_userinfo": False}
    assert provider.email_domain == "north-test.example"
    # Encrypted beside the app, never in allauth's own column, never on the page.
    assert app.secret == ""
    assert SECRET not in provider.client_secret_encrypted
    assert decrypt(provider.client_secret_encrypted) == SECRET
    page = client.get(PAGE).content.decode()
    assert SECRET not in page
    assert "Leave empty to keep the secret saved (it ends 1234)" in page
    assert f"http://{council_a.slug}." in page
    assert f"/accounts/oidc/{council_a.slug}/login/callback/" in page
    [event] = audit(council_a, "identity_provider.configured")
    assert event.after["issuer_url"] == issuer
    assert event.after["client_secret"] == "replaced"
    assert SECRET not in str(event.after)


def test_changing_without_a_secret_keeps_it_and_is_audited(council_a):
    client = admin_client(council_a)
    client.post(PAGE, ENTRA)

    response = client.post(
        PAGE, {**ENTRA, "client_secret": "", "trust_provider_mfa": "on", "email_domain": ""}
    )

    assert response.status_code == 302
    provider = CouncilIdentityProvider.objects.get(council=council_a)
    assert decrypt(provider.client_secret_encrypted) == SECRET
    assert provider.trust_provider_mfa is True
    [event] = audit(council_a, "identity_provider.changed")
    assert event.before["trust_provider_mfa"] is False
    assert event.after["trust_provider_mfa"] is True
    assert event.after["client_secret"] == "kept"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"entra_tenant_id": "common"},
            "Enter your own directory&#x27;s tenant ID, not “common”: that would let people "
            "from any organisation try to sign in.",
        ),
        (
            {"entra_tenant_id": "northbrook"},
            "Enter the tenant ID as Entra shows it, like 72f988bf-86f1-41af-91ab-2d7cd011db47.",
        ),
        ({"client_secret": ""}, "Enter the client secret the provider gave Counterfoil."),
        (
            {"kind": "generic", "issuer_url": "http://id.example.gov.uk"},
            "The issuer URL must start with https://",
        ),
        (
            {"kind": "generic", "issuer_url": "https://10.1.2.3"},
            "10.1.2.3 is a private or local address: the issuer must be reachable on the internet.",
        ),
        (
            {"email_domain": "not a domain"},
            "Enter an email domain like northbrook.gov.uk, or leave it empty.",
        ),
    ],
)
def test_a_wrong_setting_is_refused_beside_its_field(council_a, changes, message):
    client = admin_client(council_a)

    response = client.post(PAGE, {**ENTRA, **changes})

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not CouncilIdentityProvider.objects.filter(council=council_a).exists()
    assert audit(council_a, "identity_provider.configured") == []


def test_only_admins_see_or_change_it(council_a):
    manager = sign_in(host_client(council_a), make_member(council_a, CouncilRole.FINANCE_MANAGER))

    assert manager.get(PAGE).status_code == 403
    assert manager.post(PAGE, ENTRA).status_code == 403
    assert not CouncilIdentityProvider.objects.filter(council=council_a).exists()


def test_an_admin_removes_it(council_a):
    client = admin_client(council_a)
    client.post(PAGE, ENTRA)
    app_id = CouncilIdentityProvider.objects.get(council=council_a).social_app_id

    assert b"Stop signing in with Microsoft?" in client.get(f"{PAGE}remove/").content
    response = client.post(f"{PAGE}remove/")

    assert response.status_code == 302
    assert not CouncilIdentityProvider.objects.filter(council=council_a).exists()
    assert not SocialApp.objects.filter(pk=app_id).exists()
    [event] = audit(council_a, "identity_provider.removed")
    assert event.before["client_id"] == ENTRA["client_id"]


def test_another_councils_settings_are_not_shown_here(council_a, council_b):
    admin_client(council_b).post(PAGE, ENTRA)

    page = admin_client(council_a).get(PAGE).content.decode()

    assert ENTRA["client_id"] not in page
    assert TENANT_ID not in page
    assert audit(council_a, "identity_provider.configured") == []
