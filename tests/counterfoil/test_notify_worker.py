"""Email through GOV.UK Notify end to end: an action commits, the backend sends the task, a
real Celery worker calls the session's Notify stand-in (tests/fixtures/worker.py), retrying
while it is down and recording what it refuses, in the sending council's audit log."""

import re
import secrets
import time

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from tenants.actions.councils import create_council
from tenants.actions.invitations import invite_to_council
from tenants.audit.models import AuditEvent
from tenants.models import CouncilRole, Invitation
from tests.conftest import host_client, make_member
from tests.fixtures.worker import NOTIFY_TEMPLATE_IDS
from tests.waiting import wait_for

pytestmark = pytest.mark.worker
NOTIFY_BACKEND = "counterfoil.notify.backend.NotifyEmailBackend"


@pytest.fixture
def notify(notify_standin, celery_worker_process, settings):
    """The session's stand-in, forgetting earlier tests' emails and faults; this process
    sends email through Notify too (the worker was started with the stand-in's key)."""
    settings.EMAIL_BACKEND = NOTIFY_BACKEND
    notify_standin.reset()
    yield notify_standin
    notify_standin.reset()


@pytest.fixture
def committed_council(django_db_setup, django_db_blocker):
    """A council (and its admin) whose writes commit, so that the worker sees them."""
    with django_db_blocker.unblock():
        council = create_council(
            name="Notify Worker Council", slug=f"ntf-{secrets.token_hex(3)}", acting_user=None
        )
        admin = make_member(council, CouncilRole.ADMIN)
        people = [admin]
        yield council, admin, people
        Invitation.objects.filter(council=council).delete()
        # People have rows in the council's schema too (its tables point at users).
        with schema_context(council.schema_name):
            for person in people:
                person.delete()
        connection.set_schema_to_public()
        council.delete(force_drop=True)


def _invite(council, admin, email):
    # As the team page does: on the council's host, so in its schema.
    with schema_context(council.schema_name):
        return invite_to_council(
            council=council, email=email, role=CouncilRole.INCOME_OFFICER, acting_user=admin
        ).invitation


def _failed_emails(council):
    with schema_context(council.schema_name):
        return list(AuditEvent.objects.filter(action="email.failed"))


def test_an_invitation_reaches_notify_with_its_template_and_personalisation(
    notify, committed_council, celery_worker_process
):
    council, admin, _ = committed_council
    address = f"invitee-{secrets.token_hex(3)}@example.org"

    _invite(council, admin, address)

    (sent,) = wait_for(lambda: notify.sent_to(address), timeout=30)
    assert sent.template_id == NOTIFY_TEMPLATE_IDS["invitation"]
    assert sent.personalisation["subject"] == f"You are invited to {council.name} on Counterfoil"
    assert re.search(
        rf"http://{council.slug}\.localhost/team/join/\S+/", sent.personalisation["body"]
    )
    assert sent.reference.startswith("counterfoil-invitation-")
    assert "Task counterfoil.send_email_through_notify[" in celery_worker_process.log()


def test_a_password_reset_reaches_notify_with_its_template_and_link(
    notify, committed_council, django_db_blocker
):
    council, _, people = committed_council
    with django_db_blocker.unblock():
        member = make_member(council, email=f"member-{secrets.token_hex(3)}@example.org")
        people.append(member)
        host_client(council).post("/accounts/password/reset/", {"email": member.email})

    (sent,) = wait_for(lambda: notify.sent_to(member.email), timeout=30)
    assert sent.template_id == NOTIFY_TEMPLATE_IDS["password_reset"]
    assert sent.personalisation["subject"] == "Counterfoil: Password Reset Email"
    assert re.search(
        rf"http://{council.slug}\.localhost/accounts/password/reset/key/\S+/",
        sent.personalisation["body"],
    )


def test_a_notify_outage_is_retried_until_the_invitation_is_delivered(
    notify, committed_council, celery_worker_process
):
    council, admin, _ = committed_council
    address = f"invitee-{secrets.token_hex(3)}@example.org"
    notify.fail_next(1, 500)
    notify.fail_next(1, 429)

    invitation = _invite(council, admin, address)

    wait_for(lambda: notify.sent_to(address), timeout=30)
    assert notify.answered == [500, 429, 201]
    assert "trying again in 1 s" in celery_worker_process.log()
    assert _failed_emails(council) == []
    assert Invitation.objects.filter(pk=invitation.pk, revoked_at=None).exists()


def test_an_email_notify_refuses_is_recorded_not_retried_and_the_invitation_stands(
    notify, committed_council
):
    council, admin, _ = committed_council
    address = f"invitee-{secrets.token_hex(3)}@example.org"
    notify.refuse_recipient(address)

    invitation = _invite(council, admin, address)

    (failed,) = wait_for(lambda: _failed_emails(council), timeout=30)
    assert failed.after["to"] == address
    assert failed.after["kind"] == "invitation"
    assert failed.reason.startswith(
        "GOV.UK Notify answered 400: BadRequestError: Can't send to this recipient"
    )
    time.sleep(3)  # past the worker's first retries (1 s, 2 s): none comes
    assert notify.answered == [400]
    assert notify.notifications == []
    assert Invitation.objects.filter(pk=invitation.pk, revoked_at=None).exists()
