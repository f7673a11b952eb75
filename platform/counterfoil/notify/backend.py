"""Django's email backend when NOTIFY_API_KEY is set (counterfoil.settings)."""

import logging
from collections.abc import Sequence

from celery import current_app
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection, transaction

from counterfoil.notify.messages import OutgoingEmail, outgoing_emails
from tenants.council_task import SCHEMA_HEADER

logger = logging.getLogger(__name__)

SEND_TASK = "counterfoil.send_email_through_notify"


class NotifyEmailBackend(BaseEmailBackend):
    """Hands each recipient's email to a task sent when the transaction commits: an email is
    never sent for a change that rolled back, and a slow or failing Notify never holds up (nor
    undoes) the action that sent it."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        # The task runs in the schema the email was sent from, so that a failure is recorded
        # in that council's audit log (or the platform's).
        schema = connection.schema_name
        sent = 0
        for message in email_messages:
            try:
                emails = outgoing_emails(message)
            except ValueError:
                if not self.fail_silently:
                    raise
                logger.exception("an email could not be sent through GOV.UK Notify")
                continue
            for email in emails:
                # robust: the change has committed; a broker that cannot take the task is
                # logged (and reported), never turned into an error page for a done action.
                transaction.on_commit(lambda email=email: _send_task(email, schema), robust=True)
            sent += 1
        return sent


def _send_task(email: OutgoingEmail, schema: str) -> None:
    current_app.send_task(
        SEND_TASK, args=[email.as_task_argument()], headers={SCHEMA_HEADER: schema}
    )
