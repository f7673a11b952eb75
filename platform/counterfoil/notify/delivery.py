"""Sending one email through GOV.UK Notify's API with the official client, and telling
Notify's temporary failures (429, 5xx, no answer: try again later) from its permanent ones
(400, 403: trying again changes nothing)."""

import logging
from typing import Any

from django.conf import settings
from notifications_python_client.errors import APIError, HTTPError
from notifications_python_client.notifications import NotificationsAPIClient

from counterfoil.notify.messages import DEFAULT_KIND, OutgoingEmail
from tenants.audit.recording import record_audit

logger = logging.getLogger(__name__)


class NotifyUnavailable(Exception):
    """Notify was down, busy (429) or did not answer: the email may be sent again later."""


class NotifyRefused(Exception):
    """Notify refused the email (a bad address, a trial-mode service, a wrong key or
    template): sending it again would be refused again."""


def template_id_for(kind: str) -> str:
    return settings.NOTIFY_TEMPLATE_IDS.get(kind) or settings.NOTIFY_TEMPLATE_IDS[DEFAULT_KIND]


def send_through_notify(email: OutgoingEmail) -> str:
    """Send `email` with its kind's template (personalisation `subject` and `body`); return
    Notify's id for the notification. Raises NotifyUnavailable or NotifyRefused."""
    client = NotificationsAPIClient(
        settings.NOTIFY_API_KEY,
        base_url=settings.NOTIFY_BASE_URL,
        timeout=settings.NOTIFY_TIMEOUT_SECONDS,
    )
    try:
        response = client.send_email_notification(
            email_address=email.to,
            template_id=template_id_for(email.kind),
            personalisation={"subject": email.subject, "body": email.body},
            reference=email.reference,
            email_reply_to_id=settings.NOTIFY_REPLY_TO_ID or None,
        )
    except HTTPError as error:
        # The client reports no answer at all (refused connection, timeout) as a 503.
        status = error.status_code
        described = f"GOV.UK Notify answered {status}: {_describe(error.message)}"
        if status == 429 or status >= 500:
            raise NotifyUnavailable(described) from error
        raise NotifyRefused(described) from error
    except APIError as error:
        # 201 without a readable body: Notify took the email, so sending it again would
        # send it twice.
        logger.warning(
            "GOV.UK Notify took email %s but its answer was unreadable: %s", email.reference, error
        )
        return ""
    return str(response.get("id", ""))


def _describe(message: Any) -> str:
    """Notify's errors, `[{"error": "BadRequestError", "message": "..."}]`, as one line."""
    if isinstance(message, list):
        return "; ".join(
            f"{item.get('error', '')}: {item.get('message', '')}"
            if isinstance(item, dict)
            else str(item)
            for item in message
        )
    return str(message)


def record_failed_email(email: OutgoingEmail, *, reason: str, acting_user: Any = None) -> None:
    """An email that will not be sent, in the audit log of the schema it was sent from (the
    council's, or the platform's), with why; whatever sent it stands."""
    logger.error("email %s (%s) was not sent: %s", email.reference, email.kind, reason)
    record_audit(
        "email.failed",
        acting_user=acting_user,
        after={
            "to": email.to,
            "kind": email.kind,
            "subject": email.subject,
            "reference": email.reference,
        },
        reason=reason,
    )
