"""The platform's own tasks (counterfoil.notify): emails through GOV.UK Notify."""

import logging

from celery import shared_task
from django.conf import settings
from tenant_schemas_celery.task import TenantTask

from counterfoil.notify.delivery import (
    NotifyRefused,
    NotifyUnavailable,
    record_failed_email,
    send_through_notify,
)
from counterfoil.notify.messages import OutgoingEmail

logger = logging.getLogger(__name__)


# TenantTask, not the app's CouncilTask: emails are sent from the platform's host (public
# schema) as well as from councils', and the task runs in whichever schema sent it.
@shared_task(
    base=TenantTask,
    name="counterfoil.send_email_through_notify",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,  # counted against NOTIFY_RETRIES below, so that giving up is recorded
)
def send_email_through_notify(self, email_argument: dict) -> str:
    """Send one email through Notify; retried with backoff while Notify is unavailable.
    A refusal, or giving up, is recorded in the sending schema's audit log."""
    email = OutgoingEmail.from_task_argument(email_argument)
    try:
        return send_through_notify(email)
    except NotifyRefused as refusal:
        record_failed_email(email, reason=str(refusal))
        return ""
    except NotifyUnavailable as unavailable:
        tried = self.request.retries
        if tried >= settings.NOTIFY_RETRIES:
            record_failed_email(email, reason=f"Gave up after {tried + 1} tries: {unavailable}")
            return ""
        countdown = min(
            settings.NOTIFY_RETRY_FIRST_SECONDS * 2**tried, settings.NOTIFY_RETRY_LONGEST_SECONDS
        )
        logger.warning(
            "email %s: %s; trying again in %.0f s", email.reference, unavailable, countdown
        )
        raise self.retry(countdown=countdown, exc=unavailable) from unavailable
