"""Who gets into a council's team pages: members of another council, replayed cookies, removed
members and unverified people get nothing; ids are looked up within the current council."""

import pytest
from allauth.account.models import EmailAddress
from django_tenants.utils import schema_context

from tenants.actions.invitations import invite_to_council
from tenants.actions.memberships import remove_member
from tenants.audit.models import AuditEvent
from tenants.models import Council, CouncilRole, Invitation, Membership, User
from tests.conftest import host_client, make_member, sign_in
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def signed_in(council: Council, user: User):
    return sign_in(host_client(council), user)


def team_paths_of(membership: Membership, invitation: Invitation) -> dict[str, dict[str, str]]:
    """Every team URL that names an object or changes something, with a form to post."""
    return {
        "/team/": {},
        "/team/councils/": {},
        "/team/invite/": {"email": "intruder@example.org", "role": CouncilRole.ADMIN},
        f"/team/members/{membership.pk}/role/": {"role": CouncilRole.AUDITOR},
        f"/team/members/{membership.pk}/remove/": {},
        f"/team/invitations/{invitation.pk}/revoke/": {},
    }


@pytest.fixture
def council_b_team(council_b):
    """An admin, an officer and a pending invitation at council B."""
    admin = make_member(council_b, CouncilRole.ADMIN)
    officer = make_member(council_b, CouncilRole.INCOME_OFFICER)
    invitation = invite_to_council(
        council=council_b, email="b.pending@example.org", role=CouncilRole.AUDITOR, acting_user=None
    ).invitation
    return admin, Membership.objects.get(user=officer, council=council_b), invitation


def assert_b_unchanged(officer_of_b: Membership, invitation_of_b: Invitation) -> None:
    officer_of_b.refresh_from_db()
    invitation_of_b.refresh_from_db()
    assert officer_of_b.role == CouncilRole.INCOME_OFFICER
    assert invitation_of_b.revoked_at is None
    assert not Invitation.objects.filter(email="intruder@example.org").exists()


def test_an_admin_of_a_gets_404_for_every_team_page_of_b_on_bs_host(
    council_a, council_b, council_b_team
):
    _, officer_of_b, invitation_of_b = council_b_team
    admin_of_a = make_member(council_a, CouncilRole.ADMIN)
    client = host_client(council_b)

    for path, data in team_paths_of(officer_of_b, invitation_of_b).items():
        for method in ("get", "post"):
            client.login(email=admin_of_a.email, password=PASSWORD)
            response = getattr(client, method)(path, data)
            assert response.status_code == 404, (method, path)
            assert b"Southmere" not in response.content
            assert "_auth_user_id" not in client.session  # signed out there and then
    assert_b_unchanged(officer_of_b, invitation_of_b)


def test_an_admin_of_a_addressing_bs_ids_on_as_host_finds_nothing(
    council_a, council_b, council_b_team
):
    _, officer_of_b, invitation_of_b = council_b_team
    client = signed_in(council_a, make_member(council_a, CouncilRole.ADMIN))

    paths = team_paths_of(officer_of_b, invitation_of_b)
    for path in list(paths)[3:]:
        assert client.get(path).status_code == 404, path
        assert client.post(path, paths[path]).status_code == 404, path
    assert_b_unchanged(officer_of_b, invitation_of_b)
    assert officer_of_b.user.email.encode() not in client.get("/team/").content


def test_replaying_a_session_cookie_from_as_host_on_bs_team_pages_shows_nothing(
    council_a, council_b, council_b_team, settings
):
    _, officer_of_b, invitation_of_b = council_b_team
    admin_of_a = make_member(council_a, CouncilRole.ADMIN)

    for path, data in team_paths_of(officer_of_b, invitation_of_b).items():
        client_a = signed_in(council_a, admin_of_a)
        assert client_a.get("/team/").status_code == 200
        stolen = client_a.cookies[settings.SESSION_COOKIE_NAME].value
        client_b = host_client(council_b)
        client_b.cookies[settings.SESSION_COOKIE_NAME] = stolen
        response = client_b.post(path, data) if data else client_b.get(path)
        # The session belongs to A's host (tenants.session_host): on B's it signs nobody in.
        assert response.status_code == 302, path
        assert response["Location"].startswith("/accounts/login/"), path
        assert client_a.get("/team/").status_code == 200  # and still works where it began
    assert_b_unchanged(officer_of_b, invitation_of_b)


def test_anonymous_visitors_are_sent_to_sign_in_and_change_nothing(council_b, council_b_team):
    _, officer_of_b, invitation_of_b = council_b_team
    client = host_client(council_b)
    for path, data in team_paths_of(officer_of_b, invitation_of_b).items():
        response = client.post(path, data) if data else client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/accounts/login/"), path
    assert_b_unchanged(officer_of_b, invitation_of_b)


def test_a_removed_member_gets_nothing_on_their_next_request(council_a):
    admin = make_member(council_a, CouncilRole.ADMIN)
    leaver = make_member(council_a, CouncilRole.FINANCE_MANAGER)
    client = signed_in(council_a, leaver)
    assert client.get("/team/").status_code == 200

    remove_member(
        membership=Membership.objects.get(user=leaver, council=council_a), acting_user=admin
    )

    response = client.get("/team/")
    assert response.status_code == 404
    assert b"Northbrook" not in response.content
    # Signed out by that refusal: from now on, only the sign-in page.
    for path in ("/", "/team/", "/team/councils/"):
        assert client.get(path)["Location"].startswith("/accounts/login/"), path


def test_a_member_whose_email_is_unverified_gets_nothing(council_a):
    person = make_member(council_a, CouncilRole.ADMIN)
    EmailAddress.objects.filter(user=person).update(verified=False)
    client = host_client(council_a)
    client.force_login(person)  # whatever way a session came about

    response = client.get("/team/")
    assert response.status_code == 404
    assert b"Northbrook" not in response.content
    assert "_auth_user_id" not in client.session  # signed out there and then


def test_a_member_without_any_email_address_record_gets_nothing(council_a):
    person = make_member(council_a, CouncilRole.AUDITOR)
    EmailAddress.objects.filter(user=person).delete()
    client = host_client(council_a)
    client.force_login(person)
    assert client.get("/").status_code == 404


def test_team_changes_are_audited_in_their_own_council_only(council_a, council_b):
    admin = make_member(council_a, CouncilRole.ADMIN)
    officer = Membership.objects.get(user=make_member(council_a), council=council_a)
    client = signed_in(council_a, admin)

    client.post("/team/invite/", {"email": "audit.me@example.org", "role": CouncilRole.AUDITOR})
    invitation = Invitation.objects.get(council=council_a, email="audit.me@example.org")
    client.post(f"/team/invitations/{invitation.pk}/revoke/")
    client.post(f"/team/members/{officer.pk}/role/", {"role": CouncilRole.FINANCE_MANAGER})
    client.post(f"/team/members/{officer.pk}/remove/")

    expected = {
        "member.invited", "member.invitation_revoked", "member.role_changed", "member.removed",
    }  # fmt: skip
    for council, wanted in ((council_a, expected), (council_b, set())):
        with schema_context(council.schema_name):
            recorded = set(
                AuditEvent.objects.filter(actor_id=admin.pk).values_list("action", flat=True)
            )
        assert recorded == wanted, council
