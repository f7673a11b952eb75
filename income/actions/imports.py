"""Payment-file imports: uploading a file, reversing a whole import, and the council's import
rules and CSV column mappings."""

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from income.actions.unexplained_debits import check_debits_reversible, reverse_open_debits
from income.formats.records import FileRefused
from income.formats.registry import get_format
from income.imports.rules_sql import Condition
from income.imports.storage import UploadTooLarge, store_upload
from income.models import (
    NOT_BLOCKING_STATUSES,
    CsvMapping,
    ImportBatch,
    ImportRule,
    ImportStatus,
    Journal,
    JournalKind,
    PossibleDuplicateStatus,
    Refund,
    RefundStatus,
)
from tenants.audit.recording import record_audit
from tenants.capabilities import Capability, require_council_capability
from tenants.council_task import send_on_commit
from tenants.models import Council, User

# A million-line allpay file is about 45 MB; bank statements are far smaller.
MAX_IMPORT_BYTES = 150 * 1024 * 1024


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):,.1f} MB"


def _already_imported(content_sha256: str) -> ImportBatch | None:
    """The import of the same content (line endings and trailing blank lines aside) that
    stands: one refused, stopped or reversed does not block the file."""
    return (
        ImportBatch.objects.filter(content_sha256=content_sha256)
        .exclude(status__in=NOT_BLOCKING_STATUSES)
        .order_by("uploaded_at")
        .first()
    )


def _duplicate_message(first: ImportBatch) -> str:
    when = timezone.localtime(first.uploaded_at)
    who = f" by {first.uploaded_by_email}" if first.uploaded_by_email else ""
    return (
        f"This file was already imported on {when:%-d %B %Y at %H:%M}{who} as import "
        f"{first.pk} ({first.file_name}). The same file is never imported twice."
    )


def upload_import(
    *,
    council: Council,
    uploaded_file: Any,
    format_name: str,
    acting_user: User | None,
    mapping: CsvMapping | None = None,
    default_date: datetime.date | None = None,
) -> ImportBatch:
    """Store the file in the council's own area, refuse a file already imported, and queue
    its import (the task is sent when this transaction commits)."""
    if acting_user is not None:
        require_council_capability(acting_user, council, Capability.IMPORT_FILES)
    size = getattr(uploaded_file, "size", None) or 0
    if size > MAX_IMPORT_BYTES:
        raise ValidationError(
            f"The file is {_megabytes(size)}; the largest file Counterfoil imports is "
            f"{_megabytes(MAX_IMPORT_BYTES)}. Ask the sender to split it, and import each part."
        )
    if size == 0:
        raise ValidationError("The file is empty: there is nothing to import.")
    try:
        format_module = get_format(format_name)
    except FileRefused as refusal:
        raise ValidationError(str(refusal)) from None
    if format_module.NEEDS_MAPPING and mapping is None:
        raise ValidationError("Choose the column mapping that says which column holds what.")
    try:
        sha256, size, content_sha256 = store_upload(uploaded_file, max_bytes=MAX_IMPORT_BYTES)
    except UploadTooLarge:
        raise ValidationError(
            f"The file is larger than {_megabytes(MAX_IMPORT_BYTES)}, the largest file "
            "Counterfoil imports. Ask the sender to split it, and import each part."
        ) from None
    first = _already_imported(content_sha256)
    if first is not None:
        raise ValidationError(_duplicate_message(first))
    try:
        with transaction.atomic():
            batch = ImportBatch.objects.create(
                file_name=(getattr(uploaded_file, "name", "") or "upload")[:255],
                sha256=sha256,
                content_sha256=content_sha256,
                size_bytes=size,
                format=format_name,
                mapping=mapping if format_module.NEEDS_MAPPING else None,
                default_date=default_date or timezone.localdate(),
                uploaded_by_id=getattr(acting_user, "pk", None),
                uploaded_by_email=getattr(acting_user, "email", "") or "",
            )
    except IntegrityError:
        first = _already_imported(content_sha256)
        if first is None:
            raise
        raise ValidationError(_duplicate_message(first)) from None
    record_audit(
        "import.uploaded",
        acting_user=acting_user,
        target=batch,
        after={"file_name": batch.file_name, "sha256": sha256, "format": format_name},
    )
    send_on_commit("income.run_import", batch.pk)
    return batch


# The import's receipts, wherever their money sits now, per account and line reference
# (NULL: the receipt's own; money a suspense split placed under its own reference is taken
# back under it), less what the import's own money-out lines took back from them (the second
# half puts that back), and the money-out journals (the import's own, and those of its held
# money-out lines released since).
REVERSE_RECEIPTS = """
INSERT INTO income_posting (journal_id, account_id, amount_pence, receipt_id, reference)
SELECT %(journal)s, p.account_id, -sum(p.amount_pence), p.receipt_id, p.reference
FROM income_posting p
JOIN income_receipt r ON r.id = p.receipt_id
WHERE r.import_batch_id = %(batch)s AND r.status = 'active'
    AND p.journal_id <> ALL(%(money_out)s::bigint[])
GROUP BY p.receipt_id, p.account_id, p.reference
HAVING sum(p.amount_pence) <> 0
UNION ALL
SELECT %(journal)s, p.account_id, -p.amount_pence, p.receipt_id, p.reference
FROM income_posting p
WHERE p.journal_id = ANY(%(money_out)s::bigint[])
"""


def money_out_journals(batch: ImportBatch) -> list[int]:
    """The journals that took the import's money out: its own, and one per held money-out
    line released since."""
    released = batch.possible_duplicates.filter(
        status=PossibleDuplicateStatus.RELEASED, money_out_journal__isnull=False
    ).values_list("money_out_journal_id", flat=True)
    return [journal for journal in [batch.adjustment_journal_id, *released] if journal]


REVERSED_RECEIPTS = """
UPDATE income_receipt
SET status = 'reversed',
    idempotency_key = 'reversed-import:' || %(batch)s || ':' || idempotency_key
WHERE import_batch_id = %(batch)s AND status = 'active'
"""
# Its money-out lines likewise: the file's debits may come in again with it.
REVERSED_MONEY_OUT = """
UPDATE income_importadjustment
SET line_key = 'reversed-import:' || %(batch)s || ':' || line_key
WHERE batch_id = %(batch)s AND line_key <> ''
"""


@transaction.atomic
def reverse_import(
    *, council: Council, batch: ImportBatch, reason: str, acting_user: User | None
) -> Journal:
    """Take a whole import back out of the ledger with one journal: every receipt it made
    that is still active (wherever its money sits now: a fund, suspense, another fund it
    was moved to) and the money it took back, including its unexplained debits still open.
    Receipts with refunds must be settled first; an import whose unexplained debits were
    explained, or whose receipts later debits took money back from, is refused."""
    if acting_user is not None:
        require_council_capability(acting_user, council, Capability.IMPORT_FILES)
    batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.status == ImportStatus.REVERSED:
        raise ValidationError(f"Import {batch.pk} has already been reversed.")
    if batch.status != ImportStatus.COMPLETED:
        raise ValidationError(
            f"Import {batch.pk} has not been imported, so there is nothing to reverse."
        )
    if not reason.strip():
        raise ValidationError("Say why the import is being reversed.")
    # Any refund not rejected, even beside a rejected one (an exclude across the relation
    # would pass over a receipt holding both).
    live_refunds = Refund.objects.filter(receipt=OuterRef("pk")).exclude(
        status=RefundStatus.REJECTED
    )
    with_refunds = batch.receipts.filter(status="active").filter(Exists(live_refunds))
    numbers = list(with_refunds.order_by("number").values_list("number", flat=True)[:5])
    if numbers:
        raise ValidationError(
            f"Receipts from this import have refunds raised against them ({', '.join(numbers)}); "
            "settle those first."
        )
    check_debits_reversible(batch)
    journal = Journal.objects.create(
        kind=JournalKind.REVERSAL,
        description=f"Reversal of import {batch.pk} ({batch.file_name}): {reason}"[:300],
        created_by_id=getattr(acting_user, "pk", None),
        created_by_email=getattr(acting_user, "email", "") or "",
    )
    with connection.cursor() as cursor:
        cursor.execute(
            REVERSE_RECEIPTS,
            {"journal": journal.pk, "batch": batch.pk, "money_out": money_out_journals(batch)},
        )
        # The receipts' keys no longer say their lines were imported, so the file (or a
        # line of it) may be imported again (income.imports.line_keys).
        cursor.execute(REVERSED_RECEIPTS, {"batch": batch.pk})
        reversed_receipts = cursor.rowcount
        cursor.execute(REVERSED_MONEY_OUT, {"batch": batch.pk})
    reversed_debits = reverse_open_debits(batch)
    batch.status = ImportStatus.REVERSED
    batch.reversal_journal = journal
    batch.reversed_at = timezone.now()
    batch.reversed_by_email = getattr(acting_user, "email", "") or ""
    batch.reversal_reason = reason
    batch.save(
        update_fields=[
            "status",
            "reversal_journal",
            "reversed_at",
            "reversed_by_email",
            "reversal_reason",
        ]
    )
    record_audit(
        "import.reversed",
        acting_user=acting_user,
        target=batch,
        after={
            "journal": journal.pk,
            "receipts_reversed": reversed_receipts,
            "unexplained_debits_reversed": reversed_debits,
        },
        reason=reason,
    )
    return journal


def _check_rule(rule: ImportRule) -> None:
    problems = []
    conditions = [Condition(**c) for c in rule.conditions]
    if not conditions:
        problems.append("Give the rule at least one condition.")
    for condition in conditions:
        problem = condition.problem()
        if problem:
            problems.append(problem[0].upper() + problem[1:] + ".")
        elif condition.operator == "matches":
            try:
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute("SELECT '' ~* %s", [condition.value])
            except DatabaseError:
                problems.append(f'"{condition.value}" is not a valid regular expression.')
    if not (rule.set_fund_id or rule.set_reference or rule.set_channel_id):
        problems.append("Say what the rule does: set the fund, the reference or the channel.")
    if problems:
        raise ValidationError(problems)


@transaction.atomic
def save_import_rule(*, council: Council, rule: ImportRule, acting_user: User) -> ImportRule:
    require_council_capability(acting_user, council, Capability.MANAGE_IMPORT_RULES)
    _check_rule(rule)
    created = rule.pk is None
    rule.save()
    record_audit(
        "import_rule.created" if created else "import_rule.changed",
        acting_user=acting_user,
        target=rule,
        after={
            "conditions": rule.conditions,
            "set_fund": rule.set_fund.code if rule.set_fund else None,
            "set_reference": rule.set_reference,
            "set_channel": rule.set_channel.code if rule.set_channel else None,
            "position": rule.position,
            "is_active": rule.is_active,
        },
    )
    return rule


@transaction.atomic
def save_csv_mapping(*, council: Council, mapping: CsvMapping, acting_user: User) -> CsvMapping:
    require_council_capability(acting_user, council, Capability.MANAGE_IMPORT_RULES)
    if not mapping.amount_column and not (mapping.credit_column or mapping.debit_column):
        raise ValidationError("Say which column holds the amount (or money in and money out).")
    created = mapping.pk is None
    mapping.save()
    record_audit(
        "csv_mapping.created" if created else "csv_mapping.changed",
        acting_user=acting_user,
        target=mapping,
    )
    return mapping
