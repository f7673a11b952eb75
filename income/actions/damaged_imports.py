"""Deciding what becomes of a damaged file's held import (income.imports.damaged): import it
anyway (a reason required: the file's own totals say something is wrong with it), or cancel
it. Either is for someone allowed to review what imports hold back, and is audited."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from income.models import ImportBatch, ImportStatus
from tenants.audit.recording import record_audit
from tenants.capabilities import Capability, require_council_capability
from tenants.council_task import send_on_commit
from tenants.models import Council, User


def _held(batch: ImportBatch) -> ImportBatch:
    batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.status != ImportStatus.HELD:
        raise ValidationError(
            f"Import {batch.pk} is not held waiting for a decision (it is "
            f"{batch.get_status_display().lower()}), so there is nothing to decide."
        )
    return batch


@transaction.atomic
def import_held_file_anyway(
    *, council: Council, batch: ImportBatch, reason: str, acting_user: User
) -> ImportBatch:
    """Queue the held import again, to be posted although the file's own checks failed (its
    lines' idempotency keys still let each post only once)."""
    require_council_capability(acting_user, council, Capability.REVIEW_IMPORT_EXCEPTIONS)
    batch = _held(batch)
    reason = reason.strip()
    if not reason:
        raise ValidationError(
            "Say why the file should be imported although its own totals do not agree "
            "with its lines."
        )
    batch.import_anyway = True
    batch.status = ImportStatus.QUEUED
    batch.decided_at = timezone.now()
    batch.decided_by_email = acting_user.email
    batch.decision_reason = reason
    batch.save(
        update_fields=[
            "import_anyway",
            "status",
            "decided_at",
            "decided_by_email",
            "decision_reason",
        ]
    )
    record_audit(
        "import.imported_anyway",
        acting_user=acting_user,
        target=batch,
        after={"problems": batch.problems},
        reason=reason,
    )
    send_on_commit("income.run_import", batch.pk)
    return batch


@transaction.atomic
def cancel_held_import(
    *, council: Council, batch: ImportBatch, acting_user: User, reason: str = ""
) -> ImportBatch:
    """Nothing of the held file is imported; the file may be uploaded again (corrected, or
    as it is, to be held again)."""
    require_council_capability(acting_user, council, Capability.REVIEW_IMPORT_EXCEPTIONS)
    batch = _held(batch)
    batch.status = ImportStatus.CANCELLED
    batch.decided_at = timezone.now()
    batch.decided_by_email = acting_user.email
    batch.decision_reason = reason.strip()
    batch.save(update_fields=["status", "decided_at", "decided_by_email", "decision_reason"])
    record_audit(
        "import.cancelled",
        acting_user=acting_user,
        target=batch,
        after={"problems": batch.problems},
        reason=batch.decision_reason,
    )
    return batch
