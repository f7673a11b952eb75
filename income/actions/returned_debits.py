"""Returned Direct Debits (Bacs ARUDD reports): each reverses its original receipt, and what
matches nothing waits on the worklist."""

import datetime
import hashlib
import io
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from income.actions.receipts import reverse_receipt
from income.formats import arudd
from income.formats.records import FileRefused, RejectedLine
from income.imports.storage import UploadTooLarge, read_upload
from income.models import (
    Receipt,
    ReturnedDebit,
    ReturnedDebitStatus,
)
from income.money import format_pounds
from tenants.audit.recording import record_audit
from tenants.capabilities import Capability, require_council_capability
from tenants.models import Council, User

MAX_ARUDD_BYTES = 20 * 1024 * 1024

# A returned Direct Debit is matched to a receipt collected within this many days of the
# report's original processing date.
RETURN_MATCH_DAYS = 3


def apply_returned_debits(
    *, council: Council, uploaded_file: Any, acting_user: User
) -> list[ReturnedDebit]:
    """Apply an ARUDD report: each returned Direct Debit reverses its original receipt (the
    Direct Debit receipt with that reference and amount collected around the original
    processing date), with the return code as the reason. What matches nothing, or cannot be
    read, goes on the worklist. Applying the same report again changes nothing."""
    require_council_capability(acting_user, council, Capability.IMPORT_FILES)
    try:
        content = read_upload(uploaded_file, MAX_ARUDD_BYTES)
    except UploadTooLarge:
        raise ValidationError("An ARUDD report is at most 20 MB.") from None
    sha256 = hashlib.sha256(content).hexdigest()
    name = (getattr(uploaded_file, "name", "") or "arudd.xml")[:255]
    try:
        items = list(arudd.read(io.BytesIO(content)))
    except FileRefused as refusal:
        raise ValidationError(str(refusal)) from None
    results = []
    for item in items:
        key = f"arudd:{sha256}:{item.line_number}"
        existing = ReturnedDebit.objects.filter(idempotency_key=key).first()
        if existing is not None:
            results.append(existing)
            continue
        with transaction.atomic():
            if isinstance(item, RejectedLine):
                results.append(
                    _record(key, name, item.line_number, acting_user,
                            status=ReturnedDebitStatus.REJECTED, reason=item.reason)
                )  # fmt: skip
                continue
            window = datetime.timedelta(days=RETURN_MATCH_DAYS)
            candidates = Receipt.objects.select_related("channel").filter(
                channel__kind="direct_debit",
                status="active",
                payer_reference__iexact=item.reference,
                amount_pence=item.amount_pence,
                received_on__range=(item.original_date - window, item.original_date + window),
            )
            receipt = min(
                candidates,
                key=lambda r: abs((r.received_on - item.original_date).days),
                default=None,
            )
            status, reason = (
                ReturnedDebitStatus.UNMATCHED,
                (
                    f"no active Direct Debit receipt for {item.reference} of "
                    f"{format_pounds(item.amount_pence)} around {item.original_date:%-d %b %Y}"
                ),
            )
            if receipt is not None:
                why = f"Direct Debit returned unpaid (ARUDD {item.return_code}: "
                why += f"{item.return_description})"
                try:
                    with transaction.atomic():
                        reverse_receipt(
                            council=council, receipt=receipt, reason=why, acting_user=acting_user
                        )
                except ValidationError as error:
                    reason = f"{receipt.number} could not be reversed: {' '.join(error.messages)}"
                else:
                    status, reason = ReturnedDebitStatus.REVERSED, why
            results.append(
                _record(
                    key,
                    name,
                    item.line_number,
                    acting_user,
                    reference=item.reference,
                    amount_pence=item.amount_pence,
                    original_date=item.original_date,
                    return_code=item.return_code,
                    return_description=item.return_description,
                    payer_name=item.payer_name,
                    status=status,
                    reason=reason,
                    receipt=receipt if status == ReturnedDebitStatus.REVERSED else None,
                )
            )
    record_audit(
        "import.returned_debits",
        acting_user=acting_user,
        after={"file_name": name, "sha256": sha256, "items": len(items)},
    )
    return results


def _record(
    key: str, file_name: str, item_number: int, acting_user: User, **fields: Any
) -> ReturnedDebit:
    """One item of the report as the worklist keeps it, once (its key is unique)."""
    return ReturnedDebit.objects.create(
        idempotency_key=key,
        file_name=file_name,
        item_number=item_number,
        created_by_email=acting_user.email,
        **fields,
    )
