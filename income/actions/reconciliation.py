"""Bank reconciliation: load a statement's lines, match its credits to what the ledger expects
to be banked (exactly, or within a tolerance), explain what is left, and sign off each day.

Card takings are expected as GOV.UK Pay pays them out. A Stripe-backed GOV.UK Pay service
pays each day's settled payments into the council's bank in one payout: their net amounts
(the amount less the PSP fee) less the refunds taken from that payout. A payment it has
captured but not yet settled is not expected yet. Services whose provider reports no fee and
no settled date (Worldpay), and card receipts that did not come through GOV.UK Pay, are
expected gross on the day they were captured (or received), as before.
"""

import datetime
import hashlib
import io
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

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
    CashUp,
    CashUpStatus,
    CsvMapping,
    GovukPayConnection,
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


@dataclass(frozen=True)
class Expectation:
    key: str
    kind: str
    label: str
    day: datetime.date
    pence: int


# What the ledger expects to be banked: allpay's takings per day (less what it took back),
# card takings per day that GOV.UK Pay does not pay out by settled date (see PAYOUTS), and
# each authorised cash-up's counted cash and cheques.
EXPECTED = """
SELECT 'allpay', r.received_on, sum(r.amount_pence)::bigint
    - coalesce((SELECT sum(a.amount_pence) FROM income_importadjustment a
                JOIN income_channel ac ON ac.id = a.channel_id
                -- A reversed import's money out was put back with its receipts.
                JOIN income_importbatch b ON b.id = a.batch_id AND b.status <> 'reversed'
                WHERE ac.code LIKE 'ALLPAY-%%' AND a.received_on = r.received_on), 0)::bigint
FROM income_receipt r JOIN income_channel c ON c.id = r.channel_id
WHERE c.code LIKE 'ALLPAY-%%' AND r.status = 'active' AND r.received_on BETWEEN %s AND %s
GROUP BY r.received_on
UNION ALL
SELECT 'card', coalesce(p.captured_on, r.received_on), sum(r.amount_pence)::bigint
FROM income_receipt r JOIN income_channel c ON c.id = r.channel_id
LEFT JOIN income_govukpaypayment p ON p.receipt_id = r.id
WHERE c.kind = 'card' AND r.status = 'active'
  -- A receipt is dated the day it was captured, or the day it was recorded when GOV.UK Pay
  -- gave no date: a day either way of the range finds both, and the index on the date serves.
  AND r.received_on BETWEEN %s::date - 1 AND %s::date + 1
  AND coalesce(p.captured_on, r.received_on) BETWEEN %s AND %s
  -- Not what GOV.UK Pay pays out by settled date: settled already, or with a PSP fee (so
  -- Stripe-backed) and still to settle.
  AND (p.id IS NULL OR (p.settled_on IS NULL AND p.fee_pence IS NULL))
GROUP BY 2
"""

# GOV.UK Pay's payouts: per service and settled day, its payments' net amounts less the
# refunds taken from that day's payout. What GOV.UK Pay paid out is what counts here, so a
# payment counts whatever later happened to its receipt in our ledger.
PAYOUTS = """
WITH paid AS (
    SELECT connection_id, settled_on AS day, count(*) AS payments,
        sum(amount_pence - coalesce(fee_pence, 0))::bigint AS net,
        sum(coalesce(fee_pence, 0))::bigint AS fees
    FROM income_govukpaypayment
    WHERE status = 'success' AND settled_on BETWEEN %s AND %s
    GROUP BY 1, 2
), refunded AS (
    SELECT p.connection_id, r.settled_on AS day, count(*) AS refunds,
        sum(r.amount_pence)::bigint AS pence
    FROM income_govukpayrefund r JOIN income_govukpaypayment p ON p.id = r.payment_id
    WHERE r.status <> 'error' AND r.settled_on BETWEEN %s AND %s
    GROUP BY 1, 2
)
SELECT connection_id, day, coalesce(payments, 0), coalesce(net, 0), coalesce(fees, 0),
    coalesce(refunds, 0), coalesce(refunded.pence, 0)
FROM paid FULL JOIN refunded USING (connection_id, day)
"""


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def payout_label(
    *, day: datetime.date, service: str, payments: int, refunds: int, fees_pence: int
) -> str:
    """What finance staff read beside the bank line, e.g. "GOV.UK Pay payout for 3 Dec 2026:
    41 payments less 2 refunds and £1.23 fees"."""
    taken = []
    if refunds:
        taken.append(_plural(refunds, "refund"))
    if fees_pence:
        taken.append(f"{format_pounds(fees_pence)} fees")
    if payments:
        what = _plural(payments, "payment") + (f" less {' and '.join(taken)}" if taken else "")
    else:
        what = f"{_plural(refunds, 'refund')} taken back"
    return f"GOV.UK Pay payout{service} for {day:%-d %b %Y}: {what}"


def govuk_pay_payouts(start: datetime.date, end: datetime.date) -> list[Expectation]:
    """Each GOV.UK Pay service's payout for each settled day in [start, end] (matched or not).
    A day whose refunds exceed its payments is money taken from the account: a debit."""
    with connection.cursor() as cursor:
        cursor.execute(PAYOUTS, [start, end, start, end])
        rows = cursor.fetchall()
    services = GovukPayConnection.objects.select_related("fund").in_bulk({row[0] for row in rows})
    found = []
    for connection_id, day, payments, net, fees, refunds, refunded in rows:
        pence = net - refunded
        if not pence:
            continue
        service = services.get(connection_id)
        name = f" ({service.fund.name})" if service and service.fund else ""
        found.append(
            Expectation(
                f"govuk_pay:{connection_id}:{day.isoformat()}",
                MatchKind.GOVUK_PAY,
                payout_label(
                    day=day, service=name, payments=payments, refunds=refunds, fees_pence=fees
                ),
                day,
                pence,
            )
        )
    return found


@dataclass(frozen=True)
class AwaitingPayout:
    payments: int
    pence: int


def awaiting_payout() -> AwaitingPayout:
    """Card payments a Stripe-backed GOV.UK Pay service has captured and not yet paid out:
    not expected in the bank until GOV.UK Pay gives their settled date."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), coalesce(sum(amount_pence - fee_pence), 0)::bigint"
            " FROM income_govukpaypayment"
            " WHERE status = 'success' AND settled_on IS NULL AND fee_pence IS NOT NULL"
        )
        payments, pence = cursor.fetchone()
    return AwaitingPayout(payments, pence)


def expected_bankings(start: datetime.date, end: datetime.date) -> list[Expectation]:
    """Everything expected to be banked for days in [start, end], not matched yet."""
    found: list[Expectation] = []
    with connection.cursor() as cursor:
        cursor.execute(EXPECTED, [start, end, start, end, start, end])
        for kind, day, pence in cursor.fetchall():
            if pence and pence > 0:
                label = "allpay takings" if kind == "allpay" else "Card takings"
                found.append(
                    Expectation(
                        f"{kind}:{day.isoformat()}",
                        kind,
                        f"{label} for {day:%-d %b %Y}",
                        day,
                        pence,
                    )
                )
    found += govuk_pay_payouts(start, end)
    for cash_up in CashUp.objects.filter(
        status=CashUpStatus.AUTHORISED, business_date__range=(start, end)
    ):
        pence = cash_up.cash_counted_pence + cash_up.cheques_counted_pence
        if pence > 0:
            found.append(
                Expectation(
                    f"cash_up:{cash_up.pk}",
                    MatchKind.CASH_UP,
                    f"Cash-up by {cash_up.cashier_email} for {cash_up.business_date:%-d %b %Y}",
                    cash_up.business_date,
                    pence,
                )
            )
    matched = set(
        StatementLine.objects.filter(match_key__in=[e.key for e in found]).values_list(
            "match_key", flat=True
        )
    )
    return sorted((e for e in found if e.key not in matched), key=lambda e: (e.day, e.key))


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
