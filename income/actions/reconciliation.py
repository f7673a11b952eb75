"""Bank reconciliation: load a statement's lines, match its credits to what the ledger expects
to be banked (income.expected_bankings; exactly, or within a tolerance), explain what is
left, and sign off each day.
"""

import datetime
import hashlib
import io

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from income.expected_bankings import expected_bankings
from income.formats.records import (
    FileRefused,
    FileTotals,
    PaymentRecord,
    ReadOptions,
    RejectedLine,
)
from income.formats.registry import read_file
from income.imports.storage import UploadTooLarge, read_upload
from income.models import (
    BankStatement,
    CsvMapping,
    MatchKind,
    ReconciliationSignOff,
    StatementLine,
)
from income.money import format_pounds
from tenants.audit.recording import record_audit
from tenants.capabilities import Capability, require_council_capability
from tenants.models import Council, User

STATEMENT_FORMATS = ("camt053", "mt940", "bank_csv")
# A banking reaches the account up to this many days after the day it was taken.
BANKING_DAYS = 4
DEFAULT_TOLERANCE_PENCE = 100
MAX_STATEMENT_BYTES = 20 * 1024 * 1024


@transaction.atomic
def load_statement(
    *,
    council: Council,
    uploaded_file: object,
    format_name: str,
    acting_user: User,
    mapping: CsvMapping | None = None,
) -> BankStatement:
    """Read a bank statement's lines for reconciliation (no receipts are made from it)."""
    require_council_capability(acting_user, council, Capability.IMPORT_FILES)
    if format_name not in STATEMENT_FORMATS:
        raise ValidationError("Choose a bank statement format: camt.053, MT940 or bank CSV.")
    try:
        content = read_upload(uploaded_file, MAX_STATEMENT_BYTES)
    except UploadTooLarge:
        raise ValidationError("A bank statement is at most 20 MB.") from None
    if not content.strip():
        raise ValidationError("The file is empty: there is nothing to reconcile.")
    sha256 = hashlib.sha256(content).hexdigest()
    first = BankStatement.objects.filter(sha256=sha256).first()
    if first is not None:
        raise ValidationError(
            f"This statement was already loaded on "
            f"{timezone.localtime(first.uploaded_at):%-d %B %Y at %H:%M} (statement {first.pk})."
        )
    lines: list[StatementLine] = []
    unreadable: list[list] = []
    totals = FileTotals()
    try:
        for item in read_file(
            format_name,
            io.BytesIO(content),
            # The bank's own movements: a batched entry is one line, at the entry's amount.
            options=ReadOptions(
                mapping=mapping.spec() if mapping else None, one_line_per_entry=True
            ),
        ):
            if isinstance(item, RejectedLine):
                unreadable.append([item.line_number, item.reason])
            elif isinstance(item, PaymentRecord):
                lines.append(
                    StatementLine(
                        line_number=item.line_number,
                        booked_on=item.received_on,
                        amount_pence=item.amount_pence,
                        reference=item.reference[:50],
                        narrative=item.narrative[:300],
                    )
                )
            elif isinstance(item, FileTotals):
                totals = item
    except FileRefused as refusal:
        raise ValidationError(str(refusal)) from None
    # Nothing is posted from a statement, but a day signed off against a statement that does
    # not add up, or against the same statement twice, would be signed off wrongly.
    if totals.problems:
        raise ValidationError(
            "The statement does not add up, so it was not loaded: "
            + " ".join(totals.problems)
            + " Ask the bank for the statement again."
        )
    if totals.statement_id:
        again = BankStatement.objects.filter(statement_id=totals.statement_id[:300]).first()
        if again is not None:
            raise ValidationError(
                f"This statement ({totals.statement_id}) was already loaded on "
                f"{timezone.localtime(again.uploaded_at):%-d %B %Y at %H:%M} (statement "
                f"{again.pk}), from a file created at another time."
            )
    statement = BankStatement.objects.create(
        file_name=(getattr(uploaded_file, "name", "") or "statement")[:255],
        sha256=sha256,
        statement_id=totals.statement_id[:300],
        format=format_name,
        line_count=len(lines),
        unreadable=unreadable[:500],
        uploaded_by_email=acting_user.email,
    )
    for line in lines:
        line.statement = statement
    StatementLine.objects.bulk_create(lines)
    record_audit(
        "reconciliation.statement_loaded",
        acting_user=acting_user,
        target=statement,
        after={"lines": len(lines), "unreadable": len(unreadable)},
    )
    return statement


@transaction.atomic
def match_statement(
    *,
    council: Council,
    statement: BankStatement,
    acting_user: User | None,
    tolerance_pence: int = DEFAULT_TOLERANCE_PENCE,
) -> int:
    """Match the statement's unmatched credits: an exact amount first, then the nearest
    amount within `tolerance_pence`, each to an expectation from the few days before the
    line was booked. (A debit matches only a GOV.UK Pay payout whose refunds exceeded its
    payments.) Returns how many lines were matched."""
    if acting_user is not None:
        require_council_capability(acting_user, council, Capability.IMPORT_FILES)
    open_lines = list(
        statement.lines.select_for_update().filter(match_kind="").exclude(amount_pence=0)
    )
    if not open_lines:
        return 0
    start = min(line.booked_on for line in open_lines) - datetime.timedelta(days=BANKING_DAYS)
    end = max(line.booked_on for line in open_lines)
    waiting = expected_bankings(start, end)
    matched = 0
    now = timezone.now()
    for exact in (True, False):
        for line in open_lines:
            if line.match_kind:
                continue
            candidates = [
                e
                for e in waiting
                if e.day <= line.booked_on <= e.day + datetime.timedelta(days=BANKING_DAYS)
                and (e.pence > 0) == (line.amount_pence > 0)
                and (
                    e.pence == line.amount_pence
                    if exact
                    else abs(e.pence - line.amount_pence) <= tolerance_pence
                )
            ]
            if not candidates:
                continue
            best = min(
                candidates,
                key=lambda e: (abs(e.pence - line.amount_pence), (line.booked_on - e.day).days),
            )
            waiting.remove(best)
            line.match_kind = best.kind
            line.match_key = best.key
            line.expected_pence = best.pence
            line.note = (
                best.label
                if exact
                else (
                    f"{best.label}: expected {format_pounds(best.pence)}, banked "
                    f"{format_pounds(line.amount_pence)} (within the tolerance)"
                )
            )
            line.matched_by_email = getattr(acting_user, "email", "") or "automatic matching"
            line.matched_at = now
            line.save()
            matched += 1
    record_audit(
        "reconciliation.matched",
        acting_user=acting_user,
        target=statement,
        after={"matched": matched, "tolerance_pence": tolerance_pence},
    )
    return matched


@transaction.atomic
def explain_line(*, council: Council, line: StatementLine, note: str, acting_user: User) -> None:
    require_council_capability(acting_user, council, Capability.IMPORT_FILES)
    if not note.strip():
        raise ValidationError("Say what the line is.")
    line = StatementLine.objects.select_for_update().get(pk=line.pk)
    if line.match_kind:
        raise ValidationError("The line is already matched.")
    line.match_kind = MatchKind.EXPLAINED
    line.note = note
    line.matched_by_email = acting_user.email
    line.matched_at = timezone.now()
    line.save()
    record_audit("reconciliation.explained", acting_user=acting_user, target=line, reason=note)


@transaction.atomic
def sign_off_day(
    *, council: Council, day: datetime.date, acting_user: User, note: str = ""
) -> ReconciliationSignOff:
    """Sign off a day's bank lines: every one of them matched or explained."""
    require_council_capability(acting_user, council, Capability.SIGN_OFF_RECONCILIATION)
    if ReconciliationSignOff.objects.filter(day=day).exists():
        raise ValidationError(f"{day:%-d %B %Y} is already signed off.")
    lines = StatementLine.objects.filter(booked_on=day)
    if not lines.exists():
        raise ValidationError(f"There are no bank lines for {day:%-d %B %Y}.")
    open_count = lines.filter(match_kind="").count()
    if open_count:
        raise ValidationError(
            f"{open_count} bank line{'s' if open_count != 1 else ''} for {day:%-d %B %Y} "
            f"{'are' if open_count != 1 else 'is'} neither matched nor explained."
        )
    signed = ReconciliationSignOff.objects.create(
        day=day, signed_by_id=acting_user.pk, signed_by_email=acting_user.email, note=note
    )
    record_audit("reconciliation.signed_off", acting_user=acting_user, target=signed, reason=note)
    return signed
