"""A council joins: it applies on the platform's host, an operator approves (once, however
often pressed), and its contact follows the emailed link, sets a password and enrols TOTP."""

import pytest
from allauth.mfa.models import Authenticator
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from tenants.actions.applications import (
    approve_application,
    decline_application,
    submit_application,
)
from tenants.actions.councils import council_host
from tenants.audit.models import AuditEvent
from tenants.models import (
    ApplicationStatus,
    Council,
    CouncilApplication,
    CouncilRole,
    CouncilStatus,
    Domain,
    Invitation,
    Membership,
    PlatformRole,
    ProvisioningState,
    User,
)
from tests.conftest import host_client, make_member, sign_in
from tests.factories import PASSWORD, UserFactory, totp_code_for_secret

pytestmark = pytest.mark.django_db

GOOD = {
    "council_name": "Westford City Council",
    "gss_code": "E07000999",
    "requested_slug": "westford",
    "contact_name": "Wendy West",
    "contact_email": "Wendy.West@westford.example",
}


def apply(**changes: str) -> CouncilApplication:
    return submit_application(**{**GOOD, **changes}, acting_user=None)


@pytest.fixture
def operator() -> User:
    return UserFactory(platform_role=PlatformRole.OPERATOR)


def schema_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [name])
        return cursor.fetchone() is not None


# Applying


def test_a_council_applies_through_the_form_and_waits_as_pending():
    client = host_client(None)
    assert client.get("/apply/").status_code == 200

    response = client.post("/apply/", {**GOOD, "gss_code": " e07000999 "}, follow=True)

    assert b"Application sent" in response.content
    assert b"westford.localhost" in response.content
    application = CouncilApplication.objects.get()
    assert application.status == ApplicationStatus.PENDING
    assert application.gss_code == "E07000999"
    assert application.contact_email == "wendy.west@westford.example"
    event = AuditEvent.objects.get(action="application.submitted")
    assert event.after["requested_slug"] == "westford"
    assert not Council.objects.filter(slug="westford").exists()


SLUG_REFUSALS = {
    "west'ford": "Enter a subdomain of 3 to 30 characters",  # a quote
    "west;drop schema public": "Enter a subdomain of 3 to 30 characters",  # a semicolon
    'west"ford': "Enter a subdomain of 3 to 30 characters",
    "w\u0435stford": "Enter a subdomain of 3 to 30 characters",  # a Cyrillic e, a look-alike
    "\u212aent": "Enter a subdomain of 3 to 30 characters",  # KELVIN SIGN, which lower()s to k
    "westf\u043erd": "Enter a subdomain of 3 to 30 characters",
    "pg-catalog": "The subdomain “pg-catalog” is reserved.",
    "pg_catalog": "Enter a subdomain of 3 to 30 characters",
    "xn--wstford-9ya": "A subdomain cannot contain two hyphens together.",  # punycode
    "admin": "The subdomain “admin” is reserved.",
    "www": "The subdomain “www” is reserved.",
    "public": "The subdomain “public” is reserved.",
    "postgres": "The subdomain “postgres” is reserved.",
    "console": "The subdomain “console” is reserved.",
    "north-test": "The subdomain “north-test” is already taken. Choose another.",
}


@pytest.mark.parametrize(("slug", "message"), SLUG_REFUSALS.items())
def test_a_dangerous_or_reserved_or_taken_subdomain_is_refused_with_a_clear_message(
    council_a, slug, message
):
    response = host_client(None).post("/apply/", {**GOOD, "requested_slug": slug})

    assert response.status_code == 200
    assert message in response.content.decode()
    assert "There is a problem" in response.content.decode()
    assert not CouncilApplication.objects.exists()
    with pytest.raises(ValidationError, match=message.split("“")[0]):
        apply(requested_slug=slug)


@pytest.mark.parametrize(
    "code",
    ["E0800001", "E080000160", "X08000016", "E08OOOO16", "\uff2508000016", "E0800001\u0666",
     "E08000016;", "'E0800001"],
)  # fmt: skip
def test_an_ons_code_of_the_wrong_shape_is_refused(code):
    response = host_client(None).post("/apply/", {**GOOD, "gss_code": code})

    assert "Enter the ONS code in the right format" in response.content.decode()
    assert not CouncilApplication.objects.exists()


def test_an_empty_application_says_what_to_enter():
    page = host_client(None).post("/apply/", {}).content.decode()
    for message in (
        "Enter the name of the council", "Enter the ONS code of the council",
        "Enter the subdomain you would like", "Enter your full name",
        "Enter your work email address",
    ):  # fmt: skip
        assert message in page, message


def test_a_council_already_on_the_platform_cannot_apply(council_a):
    Council.objects.filter(pk=council_a.pk).update(gss_code="E08000016")
    response = host_client(None).post("/apply/", {**GOOD, "gss_code": "E08000016"})
    assert "A council with the ONS code E08000016 is already on Counterfoil." in (
        response.content.decode()
    )


# Approving


def test_approval_builds_the_council_invites_its_contact_and_opens_it(
    operator, django_capture_on_commit_callbacks
):
    application = apply()

    with django_capture_on_commit_callbacks(execute=True):
        council = approve_application(application=application, acting_user=operator)

    council.refresh_from_db()
    assert council.status == CouncilStatus.ACTIVE
    assert council.provisioning_state == ProvisioningState.READY
    assert council.gss_code == "E07000999"
    assert council.schema_name == "council_westford"
    assert schema_exists("council_westford")
    assert Domain.objects.get(tenant=council).domain == "westford.localhost"
    with schema_context(council.schema_name):
        from income.models import VatCode

        assert VatCode.objects.exists()  # the defaults are seeded
    application.refresh_from_db()
    assert application.status == ApplicationStatus.APPROVED
    assert application.council == council
    assert application.decided_by == operator

    invitation = Invitation.objects.get(council=council)
    assert invitation.email == "wendy.west@westford.example"
    assert invitation.role == CouncilRole.ADMIN
    (email,) = mail.outbox
    assert email.to == ["wendy.west@westford.example"]
    assert "http://westford.localhost/team/join/" in email.body  # the plain-text part

    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"application.submitted", "application.approved", "council.provisioned"} <= actions
    provisioned = AuditEvent.objects.get(action="council.provisioned")
    assert provisioned.actor_email == operator.email
    assert provisioned.after["first_admin"] == "wendy.west@westford.example"


def test_approving_the_same_application_twice_creates_one_council_and_one_invitation(
    operator, django_capture_on_commit_callbacks
):
    application = apply()
    with django_capture_on_commit_callbacks(execute=True):
        first = approve_application(application=application, acting_user=operator)
        second = approve_application(application=application, acting_user=operator)

    assert first.pk == second.pk
    assert Council.objects.filter(slug="westford").count() == 1
    assert Invitation.objects.filter(council=first).count() == 1
    assert len(mail.outbox) == 1
    assert AuditEvent.objects.filter(action="council.provisioned").count() == 1

    # And through the console, pressed twice.
    client = sign_in(host_client(None), operator)
    response = client.post(f"/console/applications/{application.pk}/approve/")
    assert response.status_code == 302
    assert Council.objects.filter(slug="westford").count() == 1


def test_approval_after_a_crash_halfway_finishes_the_job(
    operator, django_capture_on_commit_callbacks
):
    """The state a crash after the first step leaves: approved, the council's row and host
    name written, no schema yet, nobody invited."""
    application = apply()
    half_built = Council.objects.create(
        name=GOOD["council_name"], slug="westford", schema_name="council_westford",
        status=CouncilStatus.PENDING,
    )  # fmt: skip
    CouncilApplication.objects.filter(pk=application.pk).update(
        status=ApplicationStatus.APPROVED, decided_at=timezone.now(), decided_by=operator,
        council=half_built,
    )  # fmt: skip
    Domain.objects.create(
        domain=council_host("westford"), tenant=half_built, is_primary=True,
        verified_at=timezone.now(),
    )  # fmt: skip
    assert not schema_exists("council_westford")

    page = sign_in(host_client(None), operator).get(f"/console/applications/{application.pk}/")
    assert b"Setting up did not finish" in page.content  # the console offers to carry on
    connection.set_schema_to_public()

    with django_capture_on_commit_callbacks(execute=True):
        council = approve_application(application=application, acting_user=operator)

    assert council.pk == half_built.pk
    assert schema_exists("council_westford")
    council.refresh_from_db()
    assert (council.status, council.provisioning_state) == ("active", "ready")
    assert len(mail.outbox) == 1


def test_a_subdomain_taken_by_another_council_since_applying_is_never_handed_over(operator):
    from tenants.actions.councils import create_council

    application = apply()
    other = create_council(name="Another Westford", slug="westford", acting_user=None)

    with pytest.raises(ValidationError, match="“westford” has been taken by Another Westford"):
        approve_application(application=application, acting_user=operator)

    application.refresh_from_db()
    assert (application.status, application.council_id) == ("pending", None)
    assert not Invitation.objects.filter(council=other).exists()
    response = sign_in(host_client(None), operator).post(
        f"/console/applications/{application.pk}/approve/"
    )
    assert "has been taken by Another Westford" in response.content.decode()


def test_declining_needs_a_reason_and_a_declined_application_cannot_be_approved(
    operator, django_capture_on_commit_callbacks
):
    application = apply()
    with pytest.raises(ValidationError, match="Enter the reason for declining"):
        decline_application(application=application, reason="  ", acting_user=operator)

    with django_capture_on_commit_callbacks(execute=True):
        decline_application(application=application, reason="Duplicate", acting_user=operator)

    (email,) = mail.outbox  # the contact is told why, in plain text too
    assert email.to == ["wendy.west@westford.example"]
    assert "Duplicate" in email.body

    with pytest.raises(ValidationError, match="was declined"):
        approve_application(application=application, acting_user=operator)
    event = AuditEvent.objects.get(action="application.declined")
    assert event.reason == "Duplicate"
    assert not Council.objects.filter(slug="westford").exists()


def test_the_console_queue_lists_pending_first_and_declines_with_a_reason(operator):
    old = apply()
    decline_application(application=old, reason="Test", acting_user=operator)
    waiting = apply(council_name="Eastford Council", requested_slug="eastford")
    client = sign_in(host_client(None), operator)

    queue = client.get("/console/applications/").content.decode()
    assert queue.index("Eastford Council") < queue.index("Westford City Council")

    response = client.post(f"/console/applications/{waiting.pk}/decline/", {"reason": ""})
    assert "Enter the reason for declining" in response.content.decode() or (
        "This field is required" in response.content.decode()
    )
    client.post(f"/console/applications/{waiting.pk}/decline/", {"reason": "Not eligible"})
    waiting.refresh_from_db()
    assert (waiting.status, waiting.decision_reason) == ("declined", "Not eligible")


def test_support_staff_see_the_queue_but_cannot_approve_or_decline():
    support = UserFactory(platform_role=PlatformRole.SUPPORT)
    application = apply()
    client = sign_in(host_client(None), support)

    page = client.get(f"/console/applications/{application.pk}/")
    assert page.status_code == 200
    assert b"Approve and set up" not in page.content
    assert client.post(f"/console/applications/{application.pk}/approve/").status_code == 403
    assert (
        client.post(f"/console/applications/{application.pk}/decline/", {"reason": "x"}).status_code
        == 403
    )
    with pytest.raises(PermissionDenied):
        approve_application(application=application, acting_user=support)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.PENDING


def test_council_staff_and_strangers_get_no_console(council_a):
    admin = make_member(council_a, CouncilRole.ADMIN)
    application = apply()
    anonymous = host_client(None).get("/console/applications/")
    assert anonymous["Location"].startswith("/accounts/login/")
    client = sign_in(host_client(None), admin)
    for path in ("/console/", "/console/applications/", "/console/audit/"):
        assert client.get(path).status_code == 403, path
    assert client.post(f"/console/applications/{application.pk}/approve/").status_code == 403
    # The console is not on a council's host at all.
    assert sign_in(host_client(council_a), admin).get("/console/").status_code == 404


# Joining


def approved_council(operator, django_capture_on_commit_callbacks) -> tuple[Council, str]:
    with django_capture_on_commit_callbacks(execute=True):
        council = approve_application(application=apply(), acting_user=operator)
    link = next(line for line in mail.outbox[-1].body.splitlines() if "/team/join/" in line)
    return council, link.split("localhost", 1)[1]


def test_the_contact_follows_the_link_sets_a_password_enrols_totp_and_lands_home(
    operator, django_capture_on_commit_callbacks
):
    council, path = approved_council(operator, django_capture_on_commit_callbacks)
    client = host_client(council)

    page = client.get(path)
    assert b"Join Westford City Council" in page.content
    refused = client.post(
        path, {"full_name": "Wendy West", "password": "short", "password_again": "short"}
    )
    assert b"This password is too short" in refused.content

    password = "correct-horse-battery-staple"
    response = client.post(
        path, {"full_name": "Wendy West", "password": password, "password_again": password}
    )
    assert response["Location"] == "/"
    wendy = User.objects.get(email="wendy.west@westford.example")
    assert Membership.objects.get(user=wendy, council=council).role == CouncilRole.ADMIN

    # Everything but enrolment is closed until a second factor is set up.
    assert client.get("/")["Location"] == "/accounts/2fa/totp/activate/"
    assert client.get("/team/")["Location"] == "/accounts/2fa/totp/activate/"
    enrol = client.get("/accounts/2fa/totp/activate/")
    assert enrol.status_code == 200  # no second password prompt: it was typed a moment ago
    secret = client.session["mfa.totp.secret"]
    code = totp_code_for_secret(secret)
    assert client.post("/accounts/2fa/totp/activate/", {"code": code}).status_code == 302
    assert Authenticator.objects.filter(user=wendy, type="totp").exists()

    home = client.get("/")
    assert home.status_code == 200
    assert b"Westford City Council" in home.content
    # The link works once.
    assert b"already been used" in host_client(council).get(path).content


def test_someone_with_an_account_accepts_with_their_password_then_signs_in(
    council_a, django_capture_on_commit_callbacks
):
    from tenants.actions.invitations import invite_to_council

    person = make_member(council_a, email="shared.person@example.org")
    admin_b = make_member(council_a, CouncilRole.ADMIN)
    with django_capture_on_commit_callbacks(execute=True):
        issued = invite_to_council(
            council=council_a, email="other@example.org", role=CouncilRole.AUDITOR,
            acting_user=admin_b,
        )  # fmt: skip
    existing = UserFactory(email="other@example.org")
    path = issued.url.split("localhost", 1)[1]
    client = host_client(council_a)

    assert b"You already have a Counterfoil account" in client.get(path).content
    wrong = client.post(path, {"password": "not it"})
    assert b"The password is not correct" in wrong.content
    response = client.post(path, {"password": PASSWORD})

    assert response["Location"] == "/accounts/login/"
    assert Membership.objects.get(user=existing, council=council_a).role == CouncilRole.AUDITOR
    assert "_auth_user_id" not in client.session  # they sign in with their second factor
    assert person.email  # unaffected
    from django.core.cache import cache

    cache.clear()  # the wrong password above counts towards the address's rate limit


def test_wrong_passwords_on_an_invitation_are_rate_limited_like_sign_in(council_a):
    from django.core.cache import cache

    from tenants.actions.invitations import invite_to_council

    existing = UserFactory(email="limited@example.org")
    issued = invite_to_council(
        council=council_a, email=existing.email, role=CouncilRole.AUDITOR, acting_user=None
    )
    path = issued.url.split("localhost", 1)[1]
    client = host_client(council_a)
    cache.clear()  # failures counted by earlier tests from the same address
    try:
        for _ in range(5):
            assert b"The password is not correct" in client.post(path, {"password": "x"}).content
        refused = client.post(path, {"password": PASSWORD})
        assert b"Too many wrong passwords" in refused.content
        assert not Membership.objects.filter(user=existing, council=council_a).exists()
    finally:
        cache.clear()


def test_a_link_with_a_wrong_token_or_for_another_council_is_refused(
    council_b, operator, django_capture_on_commit_callbacks
):
    council, path = approved_council(operator, django_capture_on_commit_callbacks)

    wrong = host_client(council).get("/team/join/not-a-real-token/")
    assert wrong.status_code == 403
    assert b"This invitation link is not valid." in wrong.content
    elsewhere = host_client(council_b).get(path)
    assert elsewhere.status_code == 403
    assert b"This invitation link is not valid." in elsewhere.content
