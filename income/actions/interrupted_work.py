"""Imports and exports that no worker is doing, sent again.

A worker killed mid-task (an ECS task stopped past its grace period, a machine lost) takes the
task's message with it on the file-system broker, and Redis gives an unacknowledged message back
only after its visibility timeout. Either way an import or an export would sit "Importing" or
"Being made" for an hour or for ever. Both are all or nothing and safe to run again, so the beat
sweeps each council every few minutes: work under way for longer than RESUME_AFTER_SECONDS
that no worker holds is sent again.

"No worker holds it": a running import holds its advisory lock (income.imports.pipeline) and a
running export its target's row lock (income.actions.exports) for as long as it runs, so a lock
this sweep can take is a lock nobody has.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from income.models import ExportRun, ExportStatus, ImportBatch, ImportStatus
from tenants.audit.recording import record_audit
from tenants.council_task import send_on_commit
from tenants.models import User


@dataclass
class ResumedWork:
    imports: list[int] = field(default_factory=list)
    exports: list[int] = field(default_factory=list)


def resume_interrupted_work(*, acting_user: User | None) -> ResumedWork:
    """Send again every import and export of this council left under way by a worker that is
    gone. `acting_user` is None when the beat's sweep runs it."""
    before = timezone.now() - timedelta(seconds=settings.RESUME_AFTER_SECONDS)
    resumed = ResumedWork()
    for batch in ImportBatch.objects.filter(
        status__in=(ImportStatus.QUEUED, ImportStatus.RUNNING), uploaded_at__lt=before
    ).exclude(started_at__gte=before):
        if _import_is_unheld(batch.pk):
            with transaction.atomic():
                record_audit(
                    "import.resumed",
                    acting_user=acting_user,
                    target=batch,
                    before={"status": batch.status, "started_at": _iso(batch.started_at)},
                    reason="No worker was doing it: sent again (all or nothing, so nothing "
                    "is counted twice).",
                )
                send_on_commit("income.run_import", batch.pk)
            resumed.imports.append(batch.pk)
    for run in ExportRun.objects.filter(
        status__in=(ExportStatus.QUEUED, ExportStatus.RUNNING), created_at__lt=before
    ).exclude(started_at__gte=before):
        with transaction.atomic():
            if not _target_is_unheld(run.target_id):
                continue
            record_audit(
                "export.resumed",
                acting_user=acting_user,
                target=run,
                before={"status": run.status, "started_at": _iso(run.started_at)},
                reason="No worker was making it: sent again.",
            )
            send_on_commit("income.make_export", run.pk)
        resumed.exports.append(run.pk)
    return resumed


def _import_is_unheld(batch_id: int) -> bool:
    key = [connection.schema_name, batch_id]
    with connection.cursor() as cursor:
        # The same lock run_import holds while it imports; taken here only for a moment.
        cursor.execute("SELECT pg_try_advisory_lock(hashtext(%s), %s::integer)", key)
        (taken,) = cursor.fetchone()
        if taken:
            cursor.execute("SELECT pg_advisory_unlock(hashtext(%s), %s::integer)", key)
    return bool(taken)


def _target_is_unheld(target_id: int) -> bool:
    """Inside a transaction: whether the export target's row could be locked now (a run being
    made holds it until its transaction ends)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM income_exporttarget WHERE id = %s FOR UPDATE SKIP LOCKED", [target_id]
        )
        return cursor.fetchone() is not None


def _iso(moment: object) -> str | None:
    return moment.isoformat() if moment is not None else None  # type: ignore[attr-defined]
