"""Working the unexplained debits: saying what a debit no receipt explained was (taken back
from a receipt, a refund made outside the system charged to a fund, a bank charge), with one
journal that empties it from the unexplained debits account; and what reversing its import
does to them."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone

from income.accounts import fees_account, fund_account, unexplained_debits_account
from income.actions.ledger import PostingLine, post_journal
from income.fund_visibility import require_receipt_visible, visible_funds
from income.imports.debits import receipt_holdings, take_back_split
from income.models import (
    Account,
    DebitResolution,
    Fund,
    ImportAdjustment,
    ImportBatch,
    ImportStatus,
    Journal,
    JournalKind,
    Receipt,
    ReceiptStatus,
    UnexplainedDebit,
    UnexplainedDebitStatus,
)
from income.money import format_pounds
from tenants.audit.recording import record_audit
from tenants.capabilities import Capability, require_council_capability
from tenants.models import Council, User


def _described(debit: UnexplainedDebit) -> str:
    return (
        f"The debit of {format_pounds(debit.amount_pence)} on line {debit.line_number} of "
        f"import {debit.batch_id}"
    )


def already_resolved_message(debit: UnexplainedDebit) -> str:
    when = timezone.localtime(debit.resolved_at)
    who = f" by {debit.resolved_by_email}" if debit.resolved_by_email else ""
    return (
        f"{_described(debit)} was already explained on {when:%-d %B %Y at %H:%M}{who} "
        f"(journal J{debit.journal_id}). It cannot be explained twice."
    )


@transaction.atomic
def resolve_unexplained_debit(
    *,
    council: Council,
    debit: UnexplainedDebit,
    resolution: str,
    reason: str,
    acting_user: User,
    receipt: Receipt | None = None,
    fund: Fund | None = None,
) -> Journal:
    """Explain a debit with one journal (Dr where the money really came from, Cr unexplained
    debits): take it back from a receipt's allocation, or charge it to a fund or to fees."""
    membership = require_council_capability(
        acting_user, council, Capability.REVIEW_IMPORT_EXCEPTIONS
    )
    debit = UnexplainedDebit.objects.select_for_update().get(pk=debit.pk)
    if debit.status == UnexplainedDebitStatus.RESOLVED:
        raise ValidationError(already_resolved_message(debit))
    if debit.status == UnexplainedDebitStatus.REVERSED:
        raise ValidationError(
            f"{_described(debit)} was reversed with its import: there is nothing to explain."
        )
    if not reason.strip():
        raise ValidationError("Say why the money went out.")
    if resolution == DebitResolution.RECEIPT:
        if receipt is not None:
            # Taking money back from a receipt of a fund they do not work is theirs no more
            # than refunding it would be.
            require_receipt_visible(membership, receipt)
        lines, what = _from_receipt(debit, receipt)
    elif resolution == DebitResolution.FUND:
        if fund is None:
            raise ValidationError("Choose the fund the money is charged to.")
        if not visible_funds(membership).filter(pk=fund.pk).exists():
            raise PermissionDenied(f"You do not work with {fund.code}.")
        lines, what = [PostingLine(fund_account(fund), debit.amount_pence)], f"charged to {fund}"
        receipt = None
    elif resolution == DebitResolution.FEES:
        lines, what = [PostingLine(fees_account(), debit.amount_pence)], "charged to fees"
        receipt, fund = None, None
    else:
        raise ValidationError("Say what the debit was: a receipt, a fund or fees.")
    lines.append(PostingLine(unexplained_debits_account(), -debit.amount_pence))
    journal = post_journal(
        kind=JournalKind.UNEXPLAINED_DEBIT,
        description=(
            f"Debit on line {debit.line_number} of import {debit.batch_id} "
            f"({debit.reference or 'no reference'}) {what}: {reason}"
        ),
        lines=lines,
        acting_user=acting_user,
    )
    debit.status = UnexplainedDebitStatus.RESOLVED
    debit.resolution = resolution
    debit.receipt = receipt
    debit.fund = fund if resolution == DebitResolution.FUND else None
    debit.note = reason
    debit.journal = journal
    debit.resolved_at = timezone.now()
    debit.resolved_by_id = acting_user.pk
    debit.resolved_by_email = acting_user.email
    debit.save()
    record_audit(
        "unexplained_debit.resolved",
        acting_user=acting_user,
        target=debit,
        after={
            "journal": journal.pk,
            "resolution": resolution,
            "amount_pence": debit.amount_pence,
            "receipt": receipt.number if receipt else None,
            "fund": debit.fund.code if debit.fund else None,
        },
        reason=reason,
    )
    return journal


@transaction.atomic
def reopen_unexplained_debit(
    *, council: Council, debit: UnexplainedDebit, reason: str, acting_user: User
) -> Journal:
    """Undo an explanation that was wrong (the wrong fund or receipt): one journal reverses
    the explanation's, the money is back on the unexplained debits account and the debit back
    on the worklist, to be explained again."""
    membership = require_council_capability(
        acting_user, council, Capability.REVIEW_IMPORT_EXCEPTIONS
    )
    debit = UnexplainedDebit.objects.select_for_update().get(pk=debit.pk)
    if debit.status != UnexplainedDebitStatus.RESOLVED:
        raise ValidationError(f"{_described(debit)} is not explained: there is nothing to undo.")
    if not reason.strip():
        raise ValidationError("Say why the explanation was wrong.")
    receipt = debit.receipt
    if receipt is not None:
        require_receipt_visible(membership, receipt)
        if Receipt.objects.get(pk=receipt.pk).status != ReceiptStatus.ACTIVE:
            raise ValidationError(
                f"{_described(debit)} was taken back from {receipt.number}, which has since "
                "been reversed: undoing it would put the money back into a reversed receipt."
            )
    if debit.fund is not None and not visible_funds(membership).filter(pk=debit.fund_id).exists():
        raise PermissionDenied(f"You do not work {debit.fund.code}.")
    explained_by = debit.journal
    lines = [
        PostingLine(posting.account, -posting.amount_pence, posting.receipt, posting.reference)
        for posting in explained_by.postings.select_related("account", "receipt")
    ]
    journal = post_journal(
        kind=JournalKind.UNEXPLAINED_DEBIT,
        description=f"{_described(debit)}: explanation J{explained_by.pk} undone: {reason}",
        lines=lines,
        acting_user=acting_user,
        reverses=explained_by,
    )
    before = {
        "journal": explained_by.pk,
        "resolution": debit.resolution,
        "receipt": receipt.number if receipt else None,
        "fund": debit.fund.code if debit.fund else None,
        "note": debit.note,
        "resolved_by": debit.resolved_by_email,
    }
    debit.status = UnexplainedDebitStatus.OPEN
    debit.resolution = ""
    debit.receipt = None
    debit.fund = None
    debit.note = ""
    debit.journal = None
    debit.resolved_at = None
    debit.resolved_by_id = None
    debit.resolved_by_email = ""
    debit.save()
    record_audit(
        "unexplained_debit.reopened",
        acting_user=acting_user,
        target=debit,
        before=before,
        after={"status": debit.status, "journal": journal.pk},
        reason=reason,
    )
    return journal


def _from_receipt(
    debit: UnexplainedDebit, receipt: Receipt | None
) -> tuple[list[PostingLine], str]:
    """Take the debit back from the receipt's own allocation, in the receipt's name."""
    if receipt is None:
        raise ValidationError("Give the number of the receipt the money was taken back from.")
    receipt = Receipt.objects.select_for_update().get(pk=receipt.pk)
    if receipt.status != ReceiptStatus.ACTIVE:
        raise ValidationError(f"Receipt {receipt.number} has been reversed.")
    with connection.cursor() as cursor:
        holdings = receipt_holdings(cursor, [receipt.pk]).get(receipt.pk, [])
    available = sum(h.pence for h in holdings if h.pence > 0)
    if available < debit.amount_pence:
        raise ValidationError(
            f"{receipt.number} holds {format_pounds(available)}, less than the "
            f"{format_pounds(debit.amount_pence)} that went out."
        )
    accounts = Account.objects.in_bulk([h.account_id for h in holdings])
    lines = [
        PostingLine(accounts[holding.account_id], part, receipt, holding.posting_reference)
        for holding, part in take_back_split(holdings, debit.amount_pence)
    ]
    return lines, f"taken back from {receipt.number}"


def check_debits_reversible(batch: ImportBatch) -> None:
    """Reversing an import puts back what its money-out lines took; refused when that money
    has since been explained, or when later debits took money back from its receipts."""
    explained = list(
        batch.unexplained_debits.filter(status=UnexplainedDebitStatus.RESOLVED).order_by(
            "line_number"
        )
    )
    if explained:
        many = len(explained) > 1
        lines = ", ".join(str(d.line_number) for d in explained)
        journals = ", ".join(f"J{d.journal_id}" for d in explained)
        raise ValidationError(
            f"Import {batch.pk} cannot be reversed: its unexplained debit{'s' if many else ''} "
            f"on line{'s' if many else ''} {lines} {'have' if many else 'has'} already been "
            f"explained (journal{'s' if many else ''} {journals}), and reversing the import "
            "would put that money back a second time."
        )
    # Reversing the import puts back what its lines took from each receipt: a receipt
    # reversed since holds nothing to put it back into.
    gone = [
        f"line {a.line_number} took {format_pounds(a.amount_pence)} back from {a.receipt.number}"
        for a in batch.adjustments.exclude(receipt=None)
        .exclude(receipt__status=ReceiptStatus.ACTIVE)
        .select_related("receipt")
        .order_by("line_number")[:5]
    ]
    if gone:
        raise ValidationError(
            f"Import {batch.pk} cannot be reversed: {'; '.join(gone)}, which has since been "
            "reversed, and reversing the import would put that money back into a reversed "
            "receipt."
        )
    later = [
        f"{a.receipt.number} by import {a.batch_id}"
        for a in ImportAdjustment.objects.filter(receipt__import_batch=batch)
        .exclude(batch=batch)
        .exclude(batch__status=ImportStatus.REVERSED)
        .select_related("receipt")[:5]
    ]
    later += [
        f"{d.receipt.number} by journal J{d.journal_id}"
        for d in UnexplainedDebit.objects.filter(
            receipt__import_batch=batch, status=UnexplainedDebitStatus.RESOLVED
        ).select_related("receipt")[:5]
    ]
    if later:
        raise ValidationError(
            f"Import {batch.pk} cannot be reversed: money was later taken back from its "
            f"receipts ({'; '.join(later)}). Reverse those first."
        )


def reverse_open_debits(batch: ImportBatch) -> int:
    """The import's open unexplained debits, reversed with it (its reversal journal puts their
    money back through the clearing account)."""
    return batch.unexplained_debits.filter(status=UnexplainedDebitStatus.OPEN).update(
        status=UnexplainedDebitStatus.REVERSED
    )
