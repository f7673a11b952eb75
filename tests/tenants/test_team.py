"""The team pages and the membership actions behind them: roles, removal, invitations."""

import re

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django_tenants.utils import schema_context

from tenants.actions.councils import create_council
from tenants.actions.invitations import invite_to_council
from tenants.actions.memberships import change_role, remove_member, revoke_invitation
from tenants.audit.models import AuditEvent
from tenants.capabilities import CouncilReadOnly
from tenants.council_directory import council_directory
from tenants.models import Council, CouncilRole, CouncilStatus, Invitation, Membership, User
from tests.concurrency import run_at_once
from tests.conftest import host_client, make_member, sign_in
from tests.factories import PASSWORD

ADMIN = CouncilRole.ADMIN
AUDITOR = CouncilRole.AUDITOR
OFFICER = CouncilRole.INCOME_OFFICER
MANAGER = CouncilRole.FINANCE_MANAGER


def signed_in(council: Council, user: User):
    return sign_in(host_client(council), user)


def membership_of(user: User, council: Council) -> Membership:
    return Membership.objects.select_related("user", "council").get(user=user, council=council)


def audit_of(council: Council, action: str, target: object) -> list[AuditEvent]:
    with schema_context(council.schema_name):
        return list(
            AuditEvent.objects.filter(
                action=action, target_type=target._meta.label, target_id=str(target.pk)
            )
        )


# The actions


@pytest.mark.django_db
def test_an_admin_changes_a_role_and_it_is_audited_in_that_council_only(council_a, council_b):
    admin = make_member(council_a, ADMIN)
    officer = membership_of(make_member(council_a, OFFICER), council_a)

    change_role(membership=officer, role=MANAGER, acting_user=admin)

    officer.refresh_from_db()
    assert officer.role == MANAGER
    (event,) = audit_of(council_a, "member.role_changed", officer)
    assert event.actor_email == admin.email
    assert event.before == {"email": officer.user.email, "role": OFFICER}
    assert event.after == {"email": officer.user.email, "role": MANAGER}
    assert audit_of(council_b, "member.role_changed", officer) == []


@pytest.mark.django_db
def test_an_admin_removes_a_member_and_it_is_audited_in_that_council_only(council_a, council_b):
    admin = make_member(council_a, ADMIN)
    officer = membership_of(make_member(council_a, OFFICER), council_a)
    target = Membership(pk=officer.pk)  # the audit record names the removed membership's id

    remove_member(membership=officer, acting_user=admin)

    assert not Membership.objects.filter(pk=target.pk).exists()
    assert User.objects.filter(pk=officer.user_id).exists()  # the account stays
    (event,) = audit_of(council_a, "member.removed", target)
    assert event.before == {"email": officer.user.email, "role": OFFICER}
    assert audit_of(council_b, "member.removed", target) == []


@pytest.mark.django_db
def test_an_admin_revokes_an_invitation_once(council_a, council_b):
    admin = make_member(council_a, ADMIN)
    invitation = invite_to_council(
        council=council_a, email="later@example.org", role=AUDITOR, acting_user=admin
    ).invitation

    revoke_invitation(invitation=invitation, acting_user=admin)

    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    assert len(audit_of(council_a, "member.invitation_revoked", invitation)) == 1
    assert audit_of(council_b, "member.invitation_revoked", invitation) == []
    with pytest.raises(ValidationError, match="already been revoked"):
        revoke_invitation(invitation=invitation, acting_user=admin)


@pytest.mark.django_db
def test_nobody_changes_their_own_role_or_removes_themselves(council_a):
    first = make_member(council_a, ADMIN)
    make_member(council_a, ADMIN)
    own = membership_of(first, council_a)

    with pytest.raises(PermissionDenied, match="their own role"):
        change_role(membership=own, role=AUDITOR, acting_user=first)
    with pytest.raises(PermissionDenied, match="their own role"):
        remove_member(membership=own, acting_user=first)
    own.refresh_from_db()
    assert own.role == ADMIN


@pytest.mark.django_db
def test_the_last_admin_can_be_neither_demoted_nor_removed(council_a):
    only_admin = make_member(council_a, ADMIN)
    manager = make_member(council_a, MANAGER)
    admin_membership = membership_of(only_admin, council_a)

    # The admin may not touch their own membership, and nobody else may manage members.
    for acting_user in (only_admin, manager):
        with pytest.raises(PermissionDenied):
            change_role(membership=admin_membership, role=AUDITOR, acting_user=acting_user)
        with pytest.raises(PermissionDenied):
            remove_member(membership=admin_membership, acting_user=acting_user)
    assert Membership.objects.filter(council=council_a, role=ADMIN).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("role", [AUDITOR, OFFICER, MANAGER])
def test_only_admins_manage_members_whatever_the_page_shows(council_a, role):
    someone = make_member(council_a, role)
    other = membership_of(make_member(council_a, OFFICER), council_a)
    invitation = invite_to_council(
        council=council_a, email="pending@example.org", role=OFFICER, acting_user=None
    ).invitation

    with pytest.raises(PermissionDenied, match="does not allow"):
        change_role(membership=other, role=ADMIN, acting_user=someone)
    with pytest.raises(PermissionDenied, match="does not allow"):
        remove_member(membership=other, acting_user=someone)
    with pytest.raises(PermissionDenied, match="does not allow"):
        revoke_invitation(invitation=invitation, acting_user=someone)
    with pytest.raises(PermissionDenied, match="does not allow"):
        invite_to_council(council=council_a, email="x@example.org", role=ADMIN, acting_user=someone)
    other.refresh_from_db()
    invitation.refresh_from_db()
    assert (other.role, invitation.revoked_at) == (OFFICER, None)


@pytest.mark.django_db
def test_a_suspended_council_changes_nothing(council_a):
    admin = make_member(council_a, ADMIN)
    officer = membership_of(make_member(council_a, OFFICER), council_a)
    Council.objects.filter(pk=council_a.pk).update(status=CouncilStatus.SUSPENDED)
    officer = membership_of(officer.user, council_a)  # sees the council as it is now
    council_directory.forget()

    with pytest.raises(CouncilReadOnly, match="suspended"):
        change_role(membership=officer, role=MANAGER, acting_user=admin)
    response = signed_in(council_a, admin).post(
        f"/team/members/{officer.pk}/role/", {"role": MANAGER}
    )
    assert response.status_code == 403
    assert b"is suspended" in response.content
    officer.refresh_from_db()
    assert officer.role == OFFICER


def test_two_admins_demoting_each_other_at_once_leave_one_admin(django_db_setup, django_db_blocker):
    """Each thread has its own connection and commits, so the row locks really meet. A few
    rounds, because without the lock a single round only usually lets both through."""
    with django_db_blocker.unblock():
        council = create_council(
            name="Team Concurrency Council", slug="team-concurrency", acting_user=None
        )
        first, second = make_member(council, ADMIN), make_member(council, ADMIN)
        try:
            for round_number in range(1, 6):
                Membership.objects.filter(council=council).update(role=ADMIN)
                outcomes = _demote_each_other_at_once(council, first, second)
                connection.set_schema_to_public()
                assert sorted(outcomes) == ["ok", "refused"], outcomes
                assert Membership.objects.filter(council=council, role=ADMIN).count() == 1
                with schema_context(council.schema_name):
                    changes = AuditEvent.objects.filter(action="member.role_changed").count()
                    assert changes == round_number
        finally:
            # Users are deleted from inside the council's schema: deleting them cascades to
            # council tables that name them (e.g. fund group access).
            with schema_context(council.schema_name):
                User.objects.filter(pk__in=[first.pk, second.pk]).delete()
            connection.set_schema_to_public()
            council.delete(force_drop=True)


def _demote_each_other_at_once(council: Council, first: User, second: User) -> list[str]:
    def demote(ready, acting_user: User, target_user: User) -> str:
        target = membership_of(target_user, council)
        ready()
        try:
            change_role(membership=target, role=MANAGER, acting_user=acting_user)
        except (PermissionDenied, ValidationError):
            return "refused"
        return "ok"

    return run_at_once(demote, [(first, second), (second, first)], timeout=30)


# The pages


@pytest.mark.django_db
def test_every_member_sees_the_team_with_roles_and_joining_dates(council_a):
    admin = make_member(council_a, ADMIN, full_name="Ada Admin")
    auditor = make_member(council_a, AUDITOR, full_name="Audrey Auditor")
    invite_to_council(
        council=council_a, email="newcomer@example.org", role=OFFICER, acting_user=admin
    )

    admin_page = signed_in(council_a, admin).get("/team/").content.decode()
    assert "Ada Admin" in admin_page and "Audrey Auditor" in admin_page
    assert "Auditor (read-only)" in admin_page
    assert "newcomer@example.org" in admin_page
    assert "Invite someone" in admin_page
    auditor_membership = membership_of(auditor, council_a)
    assert f"/team/members/{auditor_membership.pk}/role/" in admin_page
    assert f"/team/members/{membership_of(admin, council_a).pk}/role/" not in admin_page
    assert "This is you" in admin_page

    auditor_page = signed_in(council_a, auditor).get("/team/").content.decode()
    assert "Ada Admin" in auditor_page and "newcomer@example.org" in auditor_page
    assert "Invite someone" not in auditor_page
    assert "/role/" not in auditor_page and "/remove/" not in auditor_page
    assert "/revoke/" not in auditor_page


@pytest.mark.django_db
def test_an_admin_invites_through_the_form(council_a, django_capture_on_commit_callbacks):
    admin = make_member(council_a, ADMIN)
    client = signed_in(council_a, admin)
    assert b'type="radio"' in client.get("/team/invite/").content

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/team/invite/", {"email": "Colleague@Example.org", "role": AUDITOR})

    assert response.status_code == 302
    invitation = Invitation.objects.get(council=council_a, email="colleague@example.org")
    assert invitation.role == AUDITOR
    assert [message.to for message in mail.outbox] == [["colleague@example.org"]]
    assert len(audit_of(council_a, "member.invited", invitation)) == 1

    again = client.post("/team/invite/", {"email": admin.email, "role": AUDITOR})
    assert again.status_code == 200
    assert b"already a member" in again.content


@pytest.mark.django_db
def test_an_admin_changes_a_role_through_the_form(council_a):
    admin = make_member(council_a, ADMIN)
    officer = membership_of(make_member(council_a, OFFICER), council_a)
    client = signed_in(council_a, admin)
    form = client.get(f"/team/members/{officer.pk}/role/").content.decode()
    assert re.search(r'value="income_officer"[^>]* checked', form)  # starts at their role

    response = client.post(f"/team/members/{officer.pk}/role/", {"role": ADMIN})

    assert response.status_code == 302
    officer.refresh_from_db()
    assert officer.role == ADMIN
    assert b"has been changed" in client.get("/team/").content


@pytest.mark.django_db
def test_an_admin_removes_a_member_after_confirming(council_a):
    admin = make_member(council_a, ADMIN)
    officer = membership_of(make_member(council_a, OFFICER), council_a)
    client = signed_in(council_a, admin)

    confirmation = client.get(f"/team/members/{officer.pk}/remove/")
    assert b"Are you sure you want to remove" in confirmation.content
    assert Membership.objects.filter(pk=officer.pk).exists()  # looking changes nothing

    assert client.post(f"/team/members/{officer.pk}/remove/").status_code == 302
    assert not Membership.objects.filter(pk=officer.pk).exists()


@pytest.mark.django_db
def test_an_admin_revokes_an_invitation_after_confirming(council_a):
    admin = make_member(council_a, ADMIN)
    invitation = invite_to_council(
        council=council_a, email="revoke.me@example.org", role=OFFICER, acting_user=admin
    ).invitation
    client = signed_in(council_a, admin)

    assert (
        b"Revoke the invitation" in client.get(f"/team/invitations/{invitation.pk}/revoke/").content
    )
    assert client.post(f"/team/invitations/{invitation.pk}/revoke/").status_code == 302
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    # Gone from the list, and its page no longer exists.
    assert f"/team/invitations/{invitation.pk}/revoke/" not in client.get("/team/").content.decode()
    assert client.get(f"/team/invitations/{invitation.pk}/revoke/").status_code == 404


@pytest.mark.django_db
def test_an_admin_cannot_change_or_remove_themselves_through_the_pages(council_a):
    admin = make_member(council_a, ADMIN)
    make_member(council_a, ADMIN)
    own = membership_of(admin, council_a)
    client = signed_in(council_a, admin)

    for path in (f"/team/members/{own.pk}/role/", f"/team/members/{own.pk}/remove/"):
        assert client.get(path).status_code == 403, path
        response = client.post(path, {"role": AUDITOR})
        assert response.status_code == 403, path
        assert b"their own role" in response.content
    own.refresh_from_db()
    assert own.role == ADMIN


@pytest.mark.django_db
@pytest.mark.parametrize("role", [AUDITOR, OFFICER, MANAGER])
def test_posting_any_team_form_without_the_capability_is_refused_and_changes_nothing(
    council_a, role
):
    someone = make_member(council_a, role)
    other = membership_of(make_member(council_a, OFFICER), council_a)
    invitation = invite_to_council(
        council=council_a, email="pending@example.org", role=OFFICER, acting_user=None
    ).invitation
    with schema_context(council_a.schema_name):
        audit_before = AuditEvent.objects.count()
    client = signed_in(council_a, someone)

    posts = {
        "/team/invite/": {"email": "intruder@example.org", "role": ADMIN},
        f"/team/members/{other.pk}/role/": {"role": ADMIN},
        f"/team/members/{other.pk}/remove/": {},
        f"/team/invitations/{invitation.pk}/revoke/": {},
    }
    for path, data in posts.items():
        assert client.get(path).status_code == 403, path
        response = client.post(path, data)
        assert response.status_code == 403, path
        assert b"You cannot do this" in response.content
        assert b"does not allow this" in response.content

    other.refresh_from_db()
    invitation.refresh_from_db()
    assert other.role == OFFICER
    assert invitation.revoked_at is None
    assert not Invitation.objects.filter(email="intruder@example.org").exists()
    with schema_context(council_a.schema_name):
        assert AuditEvent.objects.count() == audit_before


@pytest.mark.django_db
def test_people_in_several_councils_can_switch_between_them(council_a, council_b):
    person = make_member(council_a, OFFICER)
    Membership.objects.create(user=person, council=council_b, role=AUDITOR)
    client = signed_in(council_a, person)

    home = client.get("/").content.decode()
    assert 'href="/team/councils/"' in home and "Switch council" in home
    page = client.get("/team/councils/").content.decode()
    assert "Northbrook Test Council" in page and "(you are here)" in page
    assert f'href="//{council_b.get_primary_domain().domain}/"' in page
    assert "Auditor (read-only)" in page

    landing = host_client(None)
    assert landing.login(email=person.email, password=PASSWORD)
    platform_page = landing.get("/").content.decode()
    assert "Your councils" in platform_page
    assert f'href="//{council_b.get_primary_domain().domain}/"' in platform_page


@pytest.mark.django_db
def test_people_in_one_council_are_not_offered_a_switch(council_a):
    person = make_member(council_a, OFFICER)
    home = signed_in(council_a, person).get("/").content.decode()
    assert 'href="/team/"' in home
    assert "Switch council" not in home
