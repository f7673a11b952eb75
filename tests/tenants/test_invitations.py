"""Inviting a person to a council and accepting: the groundwork the joining journey uses."""

import datetime

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django_tenants.utils import schema_context

from tenants.actions.invitations import (
    accept_invitation,
    invite_to_council,
    open_invitation,
    token_hash,
)
from tenants.audit.models import AuditEvent
from tenants.models import CouncilRole, Invitation, Membership
from tests.conftest import make_member

pytestmark = pytest.mark.django_db


def token_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[1]


def test_an_admin_invites_and_the_person_joins_in_that_role(
    council_a, django_capture_on_commit_callbacks
):
    admin = make_member(council_a, CouncilRole.ADMIN)
    with django_capture_on_commit_callbacks(execute=True):
        issued = invite_to_council(
            council=council_a, email="New.Person@Example.org", role=CouncilRole.AUDITOR,
            acting_user=admin,
        )  # fmt: skip
    token = token_of(issued.url)
    assert issued.invitation.token_hash == token_hash(token) != token  # only the hash is kept
    (email,) = mail.outbox
    assert email.to == ["new.person@example.org"]
    assert issued.url in email.body  # the plain-text part
    assert issued.url in email.alternatives[0][0]

    membership = accept_invitation(council=council_a, token=token, password="a-long-pass-2026")
    assert membership.role == CouncilRole.AUDITOR
    assert EmailAddress.objects.get(email="new.person@example.org").verified
    with pytest.raises(PermissionDenied, match="already been used"):
        open_invitation(council_a, token)
    with schema_context(council_a.schema_name):
        assert set(AuditEvent.objects.values_list("action", flat=True)) >= {
            "member.invited", "member.joined",
        }  # fmt: skip


def test_an_invitation_works_only_on_its_own_council_and_before_it_expires(council_a, council_b):
    admin = make_member(council_a, CouncilRole.ADMIN)
    issued = invite_to_council(
        council=council_a, email="x@example.org", role=CouncilRole.INCOME_OFFICER,
        acting_user=admin,
    )  # fmt: skip
    token = token_of(issued.url)
    with pytest.raises(PermissionDenied, match="not valid"):
        open_invitation(council_b, token)
    Invitation.objects.filter(pk=issued.invitation.pk).update(
        expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    with pytest.raises(PermissionDenied, match="expired"):
        accept_invitation(council=council_a, token=token, password="a-long-pass-2026")
    assert not Membership.objects.filter(user__email="x@example.org").exists()


def test_only_people_who_manage_members_may_invite_and_never_twice(council_a):
    officer = make_member(council_a, CouncilRole.INCOME_OFFICER)
    with pytest.raises(PermissionDenied, match="does not allow this"):
        invite_to_council(
            council=council_a, email="y@example.org", role=CouncilRole.ADMIN, acting_user=officer
        )
    admin = make_member(council_a, CouncilRole.ADMIN)
    with pytest.raises(ValidationError, match="already a member"):
        invite_to_council(
            council=council_a, email=officer.email, role=CouncilRole.ADMIN, acting_user=admin
        )
    first = invite_to_council(
        council=council_a, email="z@example.org", role=CouncilRole.AUDITOR, acting_user=admin
    )
    invite_to_council(
        council=council_a, email="z@example.org", role=CouncilRole.AUDITOR, acting_user=admin
    )
    first.invitation.refresh_from_db()
    assert first.invitation.revoked_at is not None  # the newer invitation replaces it
