import logging
from datetime import datetime

from celery import shared_task

from income.govuk_pay.client import GovukPayUnavailable
from income.models import WorkerHeartbeat

logger = logging.getLogger(__name__)
# The scheduled heartbeat keeps one row per council, found by this token.
SCHEDULED_HEARTBEAT_TOKEN = "scheduled"  # noqa: S105 (not a secret)


@shared_task(name="income.record_worker_heartbeat")
def record_worker_heartbeat(token: str, requested_at: str) -> None:
    """Record that the worker reached this council's schema. Idempotent on `token`."""
    WorkerHeartbeat.objects.get_or_create(
        token=token, defaults={"requested_at": datetime.fromisoformat(requested_at)}
    )


@shared_task(name="income.scheduled_worker_heartbeat")
def scheduled_worker_heartbeat() -> None:
    """Sent by the beat scheduler to each council every WORKER_HEARTBEAT_SECONDS: the
    council's dashboard reads the newest. One row per council, moved on at each beat."""
    from django.utils import timezone

    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(
        token=SCHEDULED_HEARTBEAT_TOKEN, defaults={"requested_at": now, "recorded_at": now}
    )


@shared_task(name="income.govuk_pay_apply_inbox")
def apply_govuk_pay_inbox() -> int:
    """Apply the council's pending GOV.UK Pay webhook messages. Idempotent: each message is
    applied once, and applying a payment's state twice changes nothing."""
    from income.actions.govuk_pay.webhooks import apply_inbox

    return apply_inbox(acting_user=None)


@shared_task(
    name="income.govuk_pay_send_refund",
    bind=True,
    max_retries=12,
    autoretry_for=(GovukPayUnavailable,),
    retry_backoff=5,
    retry_backoff_max=600,
)
def send_govuk_pay_refund(self, card_refund_pk: int) -> str:
    """Send an approved card refund to GOV.UK Pay; retried while GOV.UK Pay does not answer
    (and the mop-up sends any still pending). Idempotent."""
    from income.actions.govuk_pay.refunds import send_card_refund

    return send_card_refund(card_refund_pk=card_refund_pk, acting_user=None)


@shared_task(name="income.govuk_pay_mop_up")
def govuk_pay_mop_up() -> dict:
    """Periodic, per council (the beat scheduler sends it once for each council's schema)."""
    from django.db import connection

    from income.actions.govuk_pay.mop_up import run_mop_up

    summary = run_mop_up(council=getattr(connection, "tenant", None), acting_user=None)
    return {"seen": summary.seen, "applied": summary.applied, "problems": summary.problems}


@shared_task(name="income.run_import", acks_late=True, reject_on_worker_lost=True)
def run_import_task(batch_id: int) -> None:
    """Import one uploaded payment file, all or nothing. A redelivered message (the worker
    was killed) starts the unfinished import again; a finished one is left alone."""
    from income.imports.pipeline import run_import

    run_import(batch_id)


@shared_task(name="income.resume_interrupted_work")
def resume_interrupted_work_task() -> dict:
    """Sent by the beat to each council: imports and exports a vanished worker left under way
    are sent again."""
    from income.actions.interrupted_work import resume_interrupted_work

    resumed = resume_interrupted_work(acting_user=None)
    return {"imports": resumed.imports, "exports": resumed.exports}


@shared_task(name="income.make_export", acks_late=True, reject_on_worker_lost=True)
def make_export_task(run_id: int) -> None:
    """Make one queued export file, all or nothing. A redelivered message (the worker was
    killed) makes it from the start; a finished one is left alone."""
    from income.actions.exports import make_export

    make_export(run_id)


@shared_task(name="income.run_daily_exports", acks_late=True, reject_on_worker_lost=True)
def run_daily_exports_task() -> None:
    """Make this council's daily exports. Safe to repeat: nothing already sent to a target is
    sent again, so a second run that day makes an empty file at most. A target whose file
    fails (the run records why) does not hold up the others."""
    from django.db import connection

    from income.actions.exports import run_export
    from income.models import ExportTarget
    from tenants.models import Council

    council = Council.objects.get(schema_name=connection.schema_name)
    for target in ExportTarget.objects.filter(is_active=True, runs_daily=True):
        try:
            run_export(council=council, target=target, acting_user=None)
        except Exception:
            logger.exception("daily export to %s failed", target.name)


@shared_task(name="income.compact_daily_totals")
def compact_daily_totals_task() -> int:
    """Periodic, per council: fold the dashboard's day totals (income.daily_totals)."""
    from income.daily_totals import compact_daily_totals

    return compact_daily_totals()


@shared_task(name="income.deliver_events", acks_late=True, reject_on_worker_lost=True)
def deliver_events_task() -> int:
    """Send this council's event notifications that are due (income.events.delivery). Sent
    when an event commits and by the beat; deliveries are claimed, so repeats send nothing
    twice, and a worker lost mid-send leaves its claim to run out and be taken again."""
    from income.events.delivery import deliver_due

    return deliver_due()
