"""Deciding a possible duplicate (a line an earlier import already brought in, held back by
its own import): release it, and it becomes a receipt allocated as the import would have
allocated it; or discard it, saying why. Finance managers and admins decide."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from income.imports.release_line import post_released_line
from income.models import (
    ImportStatus,
    PossibleDuplicate,
    PossibleDuplicateStatus,
    Receipt,
)
from income.money import format_pounds
from tenants.audit.recording import record_audit
from tenants.capabilities import Capability, require_council_capability
from tenants.models import Council, User


def _locked(line: PossibleDuplicate) -> PossibleDuplicate:
    return (
        PossibleDuplicate.objects.select_for_update(of=("self",))
        .select_related("batch", "channel", "receipt")
        .get(pk=line.pk)
    )


def _decided(line: PossibleDuplicate) -> str:
    when = timezone.localtime(line.decided_at)
    who = line.decided_by_email or "the system"
    return f"by {who} on {when:%-d %B %Y at %H:%M}"


def _check_open(line: PossibleDuplicate) -> None:
    if line.batch.status != ImportStatus.COMPLETED:
        raise ValidationError(
            f"Import {line.batch_id} was {line.batch.get_status_display().lower()}, so its "
            "held lines can no longer be released or discarded."
        )


@transaction.atomic
def release_possible_duplicate(
    *, council: Council, line: PossibleDuplicate, acting_user: User
) -> Receipt | None:
    """Import the held line after all: its receipt, made once however often this is asked
    (money out makes none: it is taken back as the import takes its debits back)."""
    require_council_capability(acting_user, council, Capability.REVIEW_IMPORT_EXCEPTIONS)
    line = _locked(line)
    if line.status == PossibleDuplicateStatus.RELEASED:
        return line.receipt
    if line.status == PossibleDuplicateStatus.DISCARDED:
        raise ValidationError(
            f"Line {line.line_number} of import {line.batch_id} was discarded {_decided(line)}, "
            "so it cannot be released."
        )
    _check_open(line)
    released = post_released_line(line, acting_user)
    receipt = released.receipt
    line.status = PossibleDuplicateStatus.RELEASED
    line.receipt = receipt
    line.money_out_journal_id = released.money_out_journal_id
    line.decided_at = timezone.now()
    line.decided_by_id = acting_user.pk
    line.decided_by_email = acting_user.email
    line.save(
        update_fields=[
            "status",
            "receipt",
            "money_out_journal",
            "decided_at",
            "decided_by_id",
            "decided_by_email",
        ]
    )
    record_audit(
        "import.possible_duplicate_released",
        acting_user=acting_user,
        target=line,
        before={"status": PossibleDuplicateStatus.HELD},
        after={
            "status": line.status,
            "receipt": receipt.number if receipt is not None else None,
            "amount": format_pounds(line.amount_pence),
            "earlier_receipt": line.earlier_receipt_id,
        },
    )
    return receipt


@transaction.atomic
def discard_possible_duplicate(
    *, council: Council, line: PossibleDuplicate, reason: str, acting_user: User
) -> PossibleDuplicate:
    """The held line was the earlier import's line again: it makes no receipt."""
    require_council_capability(acting_user, council, Capability.REVIEW_IMPORT_EXCEPTIONS)
    reason = reason.strip()
    if not reason:
        raise ValidationError("Say why the line is being discarded.")
    line = _locked(line)
    if line.status == PossibleDuplicateStatus.DISCARDED:
        return line
    if line.status == PossibleDuplicateStatus.RELEASED:
        undo = (
            f"as receipt {line.receipt.number}: reverse that receipt instead"
            if line.receipt is not None
            else "and taken back: explain or reverse that instead"
        )
        raise ValidationError(
            f"Line {line.line_number} of import {line.batch_id} was released {_decided(line)} "
            f"{undo}."
        )
    _check_open(line)
    line.status = PossibleDuplicateStatus.DISCARDED
    line.reason = reason
    line.decided_at = timezone.now()
    line.decided_by_id = acting_user.pk
    line.decided_by_email = acting_user.email
    line.save(update_fields=["status", "reason", "decided_at", "decided_by_id", "decided_by_email"])
    record_audit(
        "import.possible_duplicate_discarded",
        acting_user=acting_user,
        target=line,
        before={"status": PossibleDuplicateStatus.HELD},
        after={"status": line.status, "amount": format_pounds(line.amount_pence)},
        reason=reason,
    )
    return line
