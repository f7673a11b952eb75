"""Email through GOV.UK Notify (counterfoil.notify): the backend's choice, what a message
becomes, the task's handling of Notify's answers, and the stand-in's checks of the contract.
The same path through a real worker: tests/counterfoil/test_notify_worker.py."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import jwt
import pytest
from django.core import mail
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django_tenants.utils import schema_context
from notifications_python_client.errors import HTTPError
from notifications_python_client.notifications import NotificationsAPIClient

from counterfoil.notify.account_adapter import kind_of_template
from counterfoil.notify.messages import KIND_HEADER, outgoing_emails
from counterfoil.tasks import send_email_through_notify
from tenants.actions.invitations import invite_to_council
from tenants.audit.models import AuditEvent
from tenants.models import CouncilRole, Invitation
from tests.conftest import host_client, make_member
from tests.standins.notify_server import CLOCK_MESSAGE, notify_server

REPOSITORY = Path(__file__).resolve().parents[2]
NOTIFY_BACKEND = "counterfoil.notify.backend.NotifyEmailBackend"
DEFAULT_TEMPLATE = "0b6c3f0e-54f5-4e64-8a0e-2d7b4c1a9f01"
INVITATION_TEMPLATE = "0b6c3f0e-54f5-4e64-8a0e-2d7b4c1a9f02"


@pytest.fixture
def notify(settings):
    """A Notify stand-in of this test's own, and the settings that send to it."""
    with notify_server() as standin:
        settings.NOTIFY_API_KEY = standin.add_service()
        settings.NOTIFY_BASE_URL = standin.url
        settings.NOTIFY_TEMPLATE_IDS = {
            "default": standin.add_template(DEFAULT_TEMPLATE).id,
            "invitation": standin.add_template(INVITATION_TEMPLATE).id,
        }
        settings.NOTIFY_REPLY_TO_ID = ""
        settings.NOTIFY_RETRIES = 2
        yield standin


def _email_backend_in_a_fresh_process(**environment: str) -> subprocess.CompletedProcess:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("NOTIFY_") and name != "EMAIL_BACKEND"
    }
    code = "from django.conf import settings; print(settings.EMAIL_BACKEND)"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPOSITORY,
        env={**env, "DJANGO_SETTINGS_MODULE": "counterfoil.settings", **environment},
        capture_output=True,
        text=True,
    )


# --- which backend ----------------------------------------------------------------------------


def test_without_a_notify_key_the_configured_backend_sends_email():
    unset = _email_backend_in_a_fresh_process()
    configured = _email_backend_in_a_fresh_process(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend"
    )
    with_notify = _email_backend_in_a_fresh_process(
        NOTIFY_API_KEY="counterfoil-" + "1" * 36 + "-" + "2" * 36,
        NOTIFY_TEMPLATE_IDS=f"default={DEFAULT_TEMPLATE}",
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
    )

    assert unset.stdout.strip() == "django.core.mail.backends.console.EmailBackend", unset.stderr
    assert configured.stdout.strip() == "django.core.mail.backends.smtp.EmailBackend"
    assert with_notify.stdout.strip() == NOTIFY_BACKEND, with_notify.stderr


def test_a_notify_key_without_a_default_template_is_refused_at_start():
    result = _email_backend_in_a_fresh_process(
        NOTIFY_API_KEY="counterfoil-" + "1" * 36 + "-" + "2" * 36,
        NOTIFY_TEMPLATE_IDS=f"invitation={INVITATION_TEMPLATE}",
    )
    assert result.returncode != 0
    assert "NOTIFY_TEMPLATE_IDS must name a default template" in result.stderr

    result = _email_backend_in_a_fresh_process(
        NOTIFY_API_KEY="counterfoil-" + "1" * 36 + "-" + "2" * 36,
        NOTIFY_TEMPLATE_IDS="default=not-a-uuid",
    )
    assert "the template id for default must be a UUID, not 'not-a-uuid'" in result.stderr


@pytest.mark.django_db
def test_with_notify_nothing_is_sent_before_the_change_commits(
    council_a, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = NOTIFY_BACKEND
    with django_capture_on_commit_callbacks() as invitation_hooks:
        invite_to_council(
            council=council_a, email="new.person@example.org", role="admin", acting_user=None
        )
    # The invitation's own on-commit hook sends its email: through the backend, which hands
    # it on only when that commits in turn (one task per recipient).
    assert len(invitation_hooks) == 1
    with django_capture_on_commit_callbacks() as email_hooks:
        invitation_hooks[0]()
    assert len(email_hooks) == 1
    assert mail.outbox == []


# --- what a message becomes -------------------------------------------------------------------


def test_each_recipient_gets_an_email_of_the_message_s_kind():
    message = EmailMultiAlternatives(
        subject="You are invited to Northbrook on Counterfoil",
        body="Accept the invitation: https://north.localhost/team/join/x/",
        to=["Ann Example <ann@example.org>"],
        cc=["bob@example.org"],
        bcc=["ann@example.org"],
    )
    message.attach_alternative("<p>Accept</p>", "text/html")

    emails = outgoing_emails(message)

    assert [email.to for email in emails] == ["ann@example.org", "bob@example.org"]
    assert {email.kind for email in emails} == {"invitation"}
    assert emails[0].body == "Accept the invitation: https://north.localhost/team/join/x/"
    assert emails[0].reference.startswith("counterfoil-invitation-")
    assert emails[0].reference != emails[1].reference


def test_a_message_s_kind_comes_from_its_header_then_its_subject():
    tagged = EmailMessage("Anything", "Body", to=["a@example.org"], headers={KIND_HEADER: "x"})
    paused = EmailMessage(
        "Counterfoil: event notifications to https://r.example/in are paused", "B", to=["a@e.org"]
    )
    other = EmailMessage("Something else", "B", to=["a@example.org"])

    assert outgoing_emails(tagged)[0].kind == "x"
    assert outgoing_emails(paused)[0].kind == "endpoint_paused"
    assert outgoing_emails(other)[0].kind == "default"
    assert kind_of_template("account/email/password_reset_key") == "password_reset"
    assert kind_of_template("account/email/email_confirmation_signup") == "verification"
    assert kind_of_template("tenants/email/second_factor_locked") == "second_factor_locked"


def test_an_html_only_message_is_sent_as_text_and_attachments_are_refused():
    html = EmailMessage("Hi", "<p>Hello <b>there</b></p>", to=["a@example.org"])
    html.content_subtype = "html"
    attached = EmailMessage("Hi", "See attached", to=["a@example.org"])
    attached.attach("receipt.pdf", b"%PDF", "application/pdf")

    assert outgoing_emails(html)[0].body == "Hello there"
    with pytest.raises(ValueError) as refused:
        outgoing_emails(attached)
    assert str(refused.value) == "GOV.UK Notify cannot send attachments: 'Hi'"


@pytest.mark.django_db
def test_allauth_s_emails_say_their_kind(council_a, settings):
    member = make_member(council_a)
    host_client(council_a).post("/accounts/password/reset/", {"email": member.email})

    (email,) = mail.outbox
    assert email.extra_headers[KIND_HEADER] == "password_reset"
    assert outgoing_emails(email)[0].kind == "password_reset"


# --- the task and Notify's answers (run in this process) -------------------------------------


def _email(kind: str = "invitation", to: str = "ann@example.org") -> dict:
    return {
        "to": to,
        "subject": "You are invited to Northbrook on Counterfoil",
        "body": "Accept: https://north.localhost/team/join/x/",
        "kind": kind,
        "reference": f"counterfoil-{kind}-1",
    }


@pytest.mark.django_db
def test_the_task_sends_with_the_kind_s_template_and_the_subject_and_body(notify):
    send_email_through_notify.apply(args=[_email()]).get()
    send_email_through_notify.apply(args=[_email("password_reset", "bob@example.org")]).get()

    (invitation,) = notify.sent_to("ann@example.org")
    assert invitation.template_id == INVITATION_TEMPLATE
    assert invitation.personalisation == {
        "subject": "You are invited to Northbrook on Counterfoil",
        "body": "Accept: https://north.localhost/team/join/x/",
    }
    assert invitation.reference == "counterfoil-invitation-1"
    assert invitation.subject == "You are invited to Northbrook on Counterfoil"
    # A kind without a template of its own uses the default one.
    (reset,) = notify.sent_to("bob@example.org")
    assert reset.template_id == DEFAULT_TEMPLATE


@pytest.mark.django_db
def test_a_temporary_failure_is_tried_again(notify):
    notify.fail_next(1, 503)
    notify.fail_next(1, 429)

    send_email_through_notify.apply(args=[_email()]).get()

    assert notify.answered == [503, 429, 201]
    assert len(notify.sent_to("ann@example.org")) == 1
    assert not AuditEvent.objects.filter(action="email.failed").exists()


@pytest.mark.django_db
def test_a_notify_outage_past_the_retries_is_recorded_as_a_failed_email(
    notify, council_a, council_b
):
    notify.fail_next(10, 500)

    with schema_context(council_a.schema_name):
        send_email_through_notify.apply(args=[_email()]).get()
        (failed,) = AuditEvent.objects.filter(action="email.failed")

    assert notify.answered == [500, 500, 500]  # the first try and NOTIFY_RETRIES more
    assert failed.reason == (
        "Gave up after 3 tries: GOV.UK Notify answered 500: Exception: Internal server error"
    )
    assert failed.after["to"] == "ann@example.org"
    assert failed.after["kind"] == "invitation"
    # Recorded in the schema it was sent from, and nowhere else.
    assert not AuditEvent.objects.filter(action="email.failed").exists()
    with schema_context(council_b.schema_name):
        assert not AuditEvent.objects.filter(action="email.failed").exists()


@pytest.mark.django_db
def test_a_permanent_failure_is_recorded_once_and_not_tried_again(notify):
    notify.refuse_recipient("ann@example.org")

    send_email_through_notify.apply(args=[_email()]).get()

    assert notify.answered == [400]
    (failed,) = AuditEvent.objects.filter(action="email.failed")
    assert failed.reason == (
        "GOV.UK Notify answered 400: BadRequestError: Can't send to this recipient when "
        "service is in trial mode - see https://www.notifications.service.gov.uk/trial-mode"
    )
    assert failed.after == {
        "to": "ann@example.org",
        "kind": "invitation",
        "subject": "You are invited to Northbrook on Counterfoil",
        "reference": "counterfoil-invitation-1",
    }


@pytest.mark.django_db
def test_a_wrong_api_key_is_a_permanent_failure(notify, settings):
    service_id = settings.NOTIFY_API_KEY[-73:-37]
    settings.NOTIFY_API_KEY = f"forged-{service_id}-{'0' * 8}-0000-4000-8000-{'0' * 12}"

    send_email_through_notify.apply(args=[_email()]).get()

    assert notify.answered == [403]
    (failed,) = AuditEvent.objects.filter(action="email.failed")
    assert failed.reason == (
        "GOV.UK Notify answered 403: AuthError: Invalid token: API key not found"
    )


@pytest.mark.django_db
def test_notify_not_answering_at_all_is_temporary(notify, settings, council_a):
    settings.NOTIFY_BASE_URL = "http://127.0.0.1:9"  # the discard port: nothing listens

    with schema_context(council_a.schema_name):
        send_email_through_notify.apply(args=[_email()]).get()
        (failed,) = AuditEvent.objects.filter(action="email.failed")

    assert failed.reason.startswith("Gave up after 3 tries: GOV.UK Notify answered 503")


# --- the stand-in keeps Notify's contract -----------------------------------------------------


def test_the_stand_in_refuses_a_forged_key_an_unknown_service_and_a_stale_token():
    with notify_server() as standin:
        api_key = standin.add_service()
        template = standin.add_template()
        service_id, secret = api_key[-73:-37], api_key[-36:]
        forged = f"counterfoil-{service_id}-{secret[:-4]}beef"
        unknown = f"counterfoil-{'3' * 8}-3333-4333-8333-{'3' * 12}-{secret}"

        refusals = []
        for key in (forged, unknown):
            client = NotificationsAPIClient(key, base_url=standin.url)
            with pytest.raises(HTTPError) as refused:
                client.send_email_notification("ann@example.org", template.id)
            refusals.append((refused.value.status_code, refused.value.message))
        stale = jwt.encode({"iss": service_id, "iat": int(time.time()) - 60}, secret, "HS256")
        stale_answer = httpx.post(
            f"{standin.url}/v2/notifications/email",
            headers={"Authorization": f"Bearer {stale}"},
            json={"email_address": "ann@example.org", "template_id": template.id},
        )
        no_token = httpx.post(f"{standin.url}/v2/notifications/email", json={})

        assert refusals == [
            (403, [{"error": "AuthError", "message": "Invalid token: API key not found"}]),
            (403, [{"error": "AuthError", "message": "Invalid token: service not found"}]),
        ]
        assert stale_answer.status_code == 403
        assert stale_answer.json() == {
            "status_code": 403,
            "errors": [{"error": "AuthError", "message": CLOCK_MESSAGE}],
        }
        assert no_token.status_code == 401
        assert standin.notifications == []


def test_the_stand_in_validates_the_request_as_notify_does():
    with notify_server() as standin:
        client = NotificationsAPIClient(standin.add_service(), base_url=standin.url)
        template = standin.add_template()

        def refusal(**arguments) -> tuple[int, object]:
            with pytest.raises(HTTPError) as refused:
                client.send_email_notification(**arguments)
            return refused.value.status_code, refused.value.message[0]["message"]

        assert refusal(email_address="not-an-address", template_id=template.id) == (
            400,
            "email_address Not a valid email address",
        )
        assert refusal(email_address="a@example.org", template_id="nope") == (
            400,
            "template_id is not a valid UUID",
        )
        assert refusal(email_address="a@example.org", template_id=DEFAULT_TEMPLATE) == (
            400,
            "Template not found",
        )
        assert refusal(
            email_address="a@example.org", template_id=template.id, personalisation={"body": "B"}
        ) == (400, "Missing personalisation: subject")
        answer = client.send_email_notification(
            "a@example.org", template.id, personalisation={"subject": "S", "body": "B"}
        )
        assert answer["content"]["subject"] == "S"
        assert answer["template"]["id"] == template.id
        assert json.loads(json.dumps(answer))["id"] == standin.notifications[0].id


@pytest.mark.django_db
def test_a_refused_invitation_email_leaves_the_invitation(notify, council_a):
    # The action is done before any email goes: the email's fate cannot undo it.
    issued = invite_to_council(
        council=council_a, email="ann@example.org", role=CouncilRole.ADMIN, acting_user=None
    )
    notify.refuse_recipient("ann@example.org")
    send_email_through_notify.apply(args=[_email()]).get()

    assert Invitation.objects.filter(pk=issued.invitation.pk, revoked_at=None).exists()
