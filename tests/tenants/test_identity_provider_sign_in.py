"""Staff sign in through the council's own OpenID provider, over real HTTP.

The provider is allauth's own idp.oidc in its own process (tests.standins.oidc_provider): our
side is the Django test client on the council's host, the person's browser at the provider is
an httpx client (its login page and its consent page), and our server fetches the provider's
discovery document, keys and tokens itself. Some of the provider's clients misbehave on
purpose: a forged signature, a wrong issuer, a wrong audience.
"""

from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from django_tenants.utils import schema_context

from tenants.actions.councils import council_host
from tenants.actions.identity_providers import save_identity_provider
from tenants.audit.models import AuditEvent
from tenants.models import CouncilRole, IdentityProviderKind
from tests.conftest import host_client, make_member
from tests.factories import PASSWORD, UserFactory, totp_code_now
from tests.standins.oidc_provider import StandinClient, StandinOidcProvider, StandinUser

pytestmark = pytest.mark.django_db

ADA = "ada@north-test.example"  # verified at the provider
UNVERIFIED = "unverified@north-test.example"  # not verified at the provider
PROVIDER_PASSWORD = "provider-password-1"
SECRET = "standin-client-secret-0123456789"
CLIENTS = [
    StandinClient(id="counterfoil", secret=SECRET, amr=["pwd"]),
    StandinClient(id="counterfoil-mfa", secret=SECRET, amr=["pwd", "mfa"]),
    StandinClient(id="forged-signature", secret=SECRET, mischief="forged-signature"),
    StandinClient(id="wrong-issuer", secret=SECRET, mischief="wrong-issuer"),
    StandinClient(id="wrong-audience", secret=SECRET, mischief="wrong-audience"),
    StandinClient(id="no-consent-asked", secret=SECRET, skip_consent=True),
]


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory):
    redirect_uris = [
        f"http://{council_host(slug)}/accounts/oidc/{slug}/login/callback/"
        for slug in ("north-test", "south-test")
    ]
    users = [
        StandinUser(email=ADA, password=PROVIDER_PASSWORD),
        StandinUser(email=UNVERIFIED, password=PROVIDER_PASSWORD, email_verified=False),
    ]
    log = tmp_path_factory.mktemp("oidc-provider") / "provider.log"
    with StandinOidcProvider(
        users=users, clients=CLIENTS, redirect_uris=redirect_uris, log_path=log
    ) as provider:
        yield provider


@pytest.fixture(autouse=True)
def _http_issuers_allowed(settings):
    settings.SSO_INSECURE_ISSUERS = True  # the stand-in listens on 127.0.0.1 over http


def configure(council, provider, *, client_id="counterfoil", trust_provider_mfa=False, **extra):
    admin = make_member(council, CouncilRole.ADMIN)
    return save_identity_provider(
        council=council,
        kind=IdentityProviderKind.GENERIC,
        display_name="Council ID",
        issuer_url=provider.url,
        client_id=client_id,
        client_secret=SECRET,
        trust_provider_mfa=trust_provider_mfa,
        acting_user=admin,
        **extra,
    )


class _Forms(HTMLParser):
    """The forms of a page: action, and the fields a browser would send (buttons apart)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attributes.get("action") or "", "fields": []})
        elif tag == "input" and self.forms and attributes.get("name"):
            kind = attributes.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in attributes:
                return
            self.forms[-1]["fields"].append((attributes["name"], attributes.get("value") or ""))


def _forms(html: str) -> list[dict]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def sign_in_at_provider(authorize_url: str, email: str, password: str) -> str:
    """Be the person's browser at the provider: sign in there and consent. Returns where the
    provider sends the browser back to (our callback, with its code and state)."""
    with httpx.Client(follow_redirects=False, timeout=20) as browser:
        url, response = authorize_url, browser.get(authorize_url)
        for _ in range(10):
            if response.is_redirect:
                url = urljoin(url, response.headers["Location"])
                if urlsplit(url).hostname != "127.0.0.1":  # left the provider: back to us
                    return url
                response = browser.get(url)
                continue
            assert response.status_code == 200, response.text
            form = _forms(response.text)[-1]
            fields: dict[str, list[str]] = {}
            for name, value in form["fields"]:  # several checked scope boxes share a name
                fields.setdefault(name, []).append(value)
            if "password" in fields:
                fields.update({"login": [email], "password": [password]})
            else:  # the consent page
                fields["action"] = ["grant"]
            url = urljoin(url, form["action"] or url)
            response = browser.post(url, data=fields)
        raise AssertionError("the provider never sent the browser back")


def sign_in_through_provider(client, council, email: str = ADA):
    """Press "Sign in with ..." on the council's sign-in page, sign in at the provider, and
    come back: our answer to the provider's redirect."""
    start = client.post(f"/accounts/oidc/{council.slug}/login/", {"next": "/"})
    assert start.status_code == 302, start.content
    assert "code_challenge_method=S256" in start["Location"]  # PKCE, as well as the secret
    callback = sign_in_at_provider(start["Location"], email, PROVIDER_PASSWORD)
    parts = urlsplit(callback)
    assert parts.hostname == council_host(council.slug)
    return client.get(f"{parts.path}?{parts.query}")


def audit_actions(council, action: str) -> list[AuditEvent]:
    with schema_context(council.schema_name):
        return list(AuditEvent.objects.filter(action=action))


def signed_in_user_id(client):
    return client.session.get("_auth_user_id")


def test_the_sign_in_page_offers_the_councils_provider(council_a, oidc_provider):
    configure(council_a, oidc_provider)

    page = host_client(council_a).get("/accounts/login/")

    assert b"Sign in with Council ID" in page.content
    assert f'action="/accounts/oidc/{council_a.slug}/login/"'.encode() in page.content


def test_a_member_signs_in_through_the_provider_then_gives_our_code(council_a, oidc_provider):
    provider = configure(council_a, oidc_provider)
    member = make_member(council_a, CouncilRole.FINANCE_MANAGER, email=ADA)
    client = host_client(council_a)

    response = sign_in_through_provider(client, council_a)

    # The provider vouched for them; our second factor is still asked before anything opens.
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert signed_in_user_id(client) is None
    done = client.post("/accounts/2fa/authenticate/", {"code": totp_code_now(ADA)})
    assert done.status_code == 302
    assert signed_in_user_id(client) == str(member.pk)
    assert client.get("/").status_code == 200
    [event] = audit_actions(council_a, "identity_provider.signed_in")
    assert event.actor_id == member.pk
    assert event.target_id == str(provider.pk)
    assert event.after == {"provider": "Council ID", "second_factor": "counterfoil"}


def test_a_member_without_our_second_factor_is_sent_to_enrol_after_the_provider(
    council_a, oidc_provider
):
    configure(council_a, oidc_provider, client_id="no-consent-asked")
    member = make_member(council_a, email=ADA, totp=False)
    client = host_client(council_a)

    response = sign_in_through_provider(client, council_a)

    assert signed_in_user_id(client) == str(member.pk)
    assert response["Location"] == "/"
    assert client.get("/team/")["Location"] == "/accounts/2fa/totp/activate/"


def test_a_council_trusting_the_providers_mfa_skips_our_code(council_a, oidc_provider):
    configure(council_a, oidc_provider, client_id="counterfoil-mfa", trust_provider_mfa=True)
    member = make_member(council_a, email=ADA, totp=False)
    client = host_client(council_a)

    response = sign_in_through_provider(client, council_a)

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert signed_in_user_id(client) == str(member.pk)
    # No enrolment demanded either: the provider asked for the second factor.
    assert client.get("/team/").status_code == 200
    [event] = audit_actions(council_a, "identity_provider.signed_in")
    assert event.after["second_factor"] == "provider"


def test_trusting_the_providers_mfa_still_needs_the_provider_to_say_it_asked(
    council_a, oidc_provider
):
    configure(council_a, oidc_provider, client_id="counterfoil", trust_provider_mfa=True)
    make_member(council_a, email=ADA)
    client = host_client(council_a)

    response = sign_in_through_provider(client, council_a)  # its amr is ["pwd"]

    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert signed_in_user_id(client) is None


def test_the_providers_mfa_claim_is_not_enough_unless_the_council_trusts_it(
    council_a, oidc_provider
):
    configure(council_a, oidc_provider, client_id="counterfoil-mfa", trust_provider_mfa=False)
    make_member(council_a, email=ADA)
    client = host_client(council_a)

    response = sign_in_through_provider(client, council_a)

    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert signed_in_user_id(client) is None


@pytest.mark.parametrize(
    ("client_id", "refusal"),
    [
        (
            "forged-signature",
            "The identity provider&#x27;s token is not signed with any of the provider&#x27;s "
            "published keys, so it cannot be trusted.",
        ),
        (
            "wrong-issuer",
            "The identity provider&#x27;s token was issued by &#x27;https://impostor.example"
            "&#x27;, not by http://127.0.0.1:",
        ),
        (
            "wrong-audience",
            "The identity provider&#x27;s token was issued to another application, not to "
            "this council&#x27;s Counterfoil client ID.",
        ),
    ],
)
def test_a_token_the_provider_did_not_properly_issue_is_refused(
    council_a, oidc_provider, client_id, refusal
):
    configure(council_a, oidc_provider, client_id=client_id)
    make_member(council_a, email=ADA)
    client = host_client(council_a)

    response = sign_in_through_provider(client, council_a)

    assert response.status_code == 401
    assert refusal in response.content.decode()
    assert signed_in_user_id(client) is None
    assert client.get("/team/")["Location"].startswith("/accounts/login/")
    [event] = audit_actions(council_a, "identity_provider.sign_in_refused")
    assert "token" in event.reason
    assert audit_actions(council_a, "identity_provider.signed_in") == []


def test_an_address_the_provider_has_not_verified_is_refused(council_a, oidc_provider):
    configure(council_a, oidc_provider)
    make_member(council_a, email=UNVERIFIED)
    client = host_client(council_a)

    response = sign_in_through_provider(client, council_a, email=UNVERIFIED)

    assert response.status_code == 403
    assert (
        f"Council ID has not verified the email address {UNVERIFIED}, so it cannot be used to "
        "sign in. Ask your IT team to verify it."
    ) in response.content.decode()
    assert signed_in_user_id(client) is None
    [event] = audit_actions(council_a, "identity_provider.sign_in_refused")
    assert event.after == {"claimed_email": UNVERIFIED}


def test_someone_who_is_not_a_member_is_refused_and_not_made_one(
    council_a, council_b, oidc_provider
):
    configure(council_a, oidc_provider)
    someone = make_member(council_b, email=ADA)  # works for another council only
    client = host_client(council_a)

    response = sign_in_through_provider(client, council_a)

    assert response.status_code == 403
    assert (
        f"{ADA} is not a member of {council_a.name}. Signing in with Council ID does not make "
        f"you one: ask one of {council_a.name}&#x27;s admins to invite you."
    ) in response.content.decode()
    assert signed_in_user_id(client) is None
    assert not someone.memberships.filter(council=council_a).exists()


def test_nobody_with_the_address_is_refused_and_no_account_is_made(council_a, oidc_provider):
    from tenants.models import User

    configure(council_a, oidc_provider)
    client = host_client(council_a)

    response = sign_in_through_provider(client, council_a)

    assert response.status_code == 403
    assert f"{ADA} is not a member of {council_a.name}" in response.content.decode()
    assert not User.objects.filter(email__iexact=ADA).exists()


def test_another_councils_provider_is_invisible_and_unusable_on_this_host(
    council_a, council_b, oidc_provider
):
    configure(council_b, oidc_provider)
    make_member(council_a, email=ADA)
    client = host_client(council_a)

    assert b"Sign in with" not in client.get("/accounts/login/").content
    assert client.post(f"/accounts/oidc/{council_b.slug}/login/").status_code == 404
    callback = f"/accounts/oidc/{council_b.slug}/login/callback/?code=x&state=y"
    assert client.get(callback).status_code == 404
    assert signed_in_user_id(client) is None


def test_a_member_of_this_council_cannot_use_its_provider_on_another_councils_host(
    council_a, council_b, oidc_provider
):
    configure(council_a, oidc_provider)
    configure(council_b, oidc_provider)
    make_member(council_a, email=ADA)  # a member of A, not of B
    client = host_client(council_b)

    response = sign_in_through_provider(client, council_b)

    assert response.status_code == 403
    assert f"{ADA} is not a member of {council_b.name}" in response.content.decode()
    assert signed_in_user_id(client) is None


def test_an_address_at_the_bound_domain_must_use_the_provider(council_a, oidc_provider):
    configure(council_a, oidc_provider, email_domain="north-test.example")
    member = make_member(council_a, email=ADA)
    client = host_client(council_a)

    response = client.post("/accounts/login/", {"login": member.email, "password": PASSWORD})

    assert response.status_code == 200
    assert (
        f"People with an @north-test.example email address sign in to {council_a.name} with "
        "Council ID: use the “Sign in with Council ID” button."
    ) in response.content.decode()
    assert signed_in_user_id(client) is None
    # Other addresses still use a password.
    other = make_member(council_a, email="someone@elsewhere.example")
    client.post("/accounts/login/", {"login": other.email, "password": PASSWORD})
    assert client.get("/accounts/2fa/authenticate/").status_code == 200


def test_the_bound_domain_binds_only_on_its_councils_host(council_a, council_b, oidc_provider):
    configure(council_a, oidc_provider, email_domain="north-test.example")
    shared = UserFactory(email=ADA)
    from tenants.models import Membership

    Membership.objects.create(user=shared, council=council_b, role=CouncilRole.AUDITOR)
    client = host_client(council_b)

    response = client.post("/accounts/login/", {"login": ADA, "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/authenticate/"
