"""Cash-up ("e-returns"): a cashier's blind count of the cash and cheques they took,
authorised by someone else, banked by one journal.

A cashier may cash up as often as a day needs (each till, or again after a late payment):
each cash-up covers the cash and cheque receipts of theirs for its day that no earlier
cash-up covered, and expects exactly what those receipts add up to. The count is blind: the
cashier is told only whether it matches, never by how much (they could otherwise make the
count fit); whoever authorises it sees the variance.
"""

import datetime
from collections import defaultdict
from collections.abc import Mapping, Sequence

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from income.accounts import bank_account, clearing_account, system_account
from income.actions.ledger import PostingLine, is_pence, post_journal
from income.fund_checks import pounds
from income.models import (
    AccountKind,
    CashUp,
    CashUpReceipt,
    CashUpStatus,
    Channel,
    ChannelKind,
    JournalKind,
    Receipt,
    ReceiptStatus,
)
from income.money import DENOMINATIONS
from tenants.audit.recording import record_audit
from tenants.capabilities import Capability, require_council_capability
from tenants.models import Council, User

CASHED_UP_KINDS = (ChannelKind.CASH, ChannelKind.CHEQUE)
# Any 32-bit number: with the cashier's id, the advisory lock that makes one cashier's
# cash-ups take their receipts one after the other.
CASH_UP_LOCK_CLASS = 7_301_213
COUNT_DIFFERS = "The count does not match the takings: explain the difference in the note."


def receipts_not_cashed_up(cashier: User, business_date: datetime.date) -> list[Receipt]:
    """The cashier's cash and cheque receipts of that day that no cash-up covers yet."""
    return list(
        Receipt.objects.select_related("channel")
        .filter(
            created_by_id=cashier.pk,
            received_on=business_date,
            channel__kind__in=CASHED_UP_KINDS,
            status=ReceiptStatus.ACTIVE,
            cash_up_cover__isnull=True,
        )
        .order_by("pk")
    )


def _count_problems(
    denominations: Mapping[int, int], cheques: Sequence[Mapping[str, object]]
) -> list[str]:
    problems = []
    for value, count in denominations.items():
        if value not in DENOMINATIONS:
            problems.append(f"{pounds(value)} is not a note or coin.")
        if not is_pence(count) or count < 0:
            problems.append(f"The count of {pounds(value)} must be a whole number.")
    for cheque in cheques:
        if not is_pence(cheque.get("amount_pence")) or cheque["amount_pence"] <= 0:
            problems.append("Each cheque needs a positive amount.")
    return problems


@transaction.atomic
def submit_cash_up(
    *,
    council: Council,
    business_date: datetime.date,
    denominations: Mapping[int, int],
    cheques: Sequence[Mapping[str, object]],
    note: str,
    acting_user: User,
    till: str = "",
    submission_key: str | None = None,
) -> CashUp:
    """Record the cashier's count against the receipts of theirs not yet cashed up.

    `submission_key` is issued with the form: the same form sent twice makes one cash-up.
    """
    require_council_capability(acting_user, council, Capability.TAKE_PAYMENTS)
    problems = _count_problems(denominations, cheques)
    if submission_key is not None and not 0 < len(submission_key) <= 64:
        problems.append("This form has expired: start the cash-up again.")
    if problems:
        raise ValidationError(problems)
    # One cash-up of this cashier at a time takes receipts: the second waits here, then sees
    # the first's receipts as covered (READ COMMITTED reads afresh at each statement).
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [CASH_UP_LOCK_CLASS, acting_user.pk])
    key = f"{acting_user.pk}:{submission_key}" if submission_key else None
    if key:
        already = CashUp.objects.filter(submission_key=key).first()
        if already is not None:
            return already
    covered = receipts_not_cashed_up(acting_user, business_date)
    expected = defaultdict(int)
    for receipt in covered:
        expected[receipt.channel.kind] += receipt.amount_pence
    cash = sum(value * count for value, count in denominations.items())
    cheque_total = sum(int(cheque["amount_pence"]) for cheque in cheques)
    cash_up = CashUp(
        cashier_id=acting_user.pk,
        cashier_email=acting_user.email,
        business_date=business_date,
        till=till.strip(),
        denominations={str(value): count for value, count in denominations.items() if count},
        cheques=[dict(cheque) for cheque in cheques],
        cash_counted_pence=cash,
        cheques_counted_pence=cheque_total,
        expected_cash_pence=expected[ChannelKind.CASH],
        expected_cheques_pence=expected[ChannelKind.CHEQUE],
        note=note,
        submission_key=key,
    )
    if cash_up.variance_pence and not note.strip():
        # Blind: that it differs, never by how much or which way.
        raise ValidationError(COUNT_DIFFERS)
    try:
        with transaction.atomic():
            cash_up.save()
            CashUpReceipt.objects.bulk_create(
                [CashUpReceipt(cash_up=cash_up, receipt=receipt) for receipt in covered]
            )
    except IntegrityError as error:
        # Only if something took these receipts without the lock: never cover one twice.
        raise ValidationError(
            "Some of these receipts were cashed up at the same moment: count again."
        ) from error
    record_audit(
        "cash_up.submitted",
        acting_user=acting_user,
        target=cash_up,
        # Not the expected total or the variance: the audit log is open to the cashier.
        after={"cash": cash, "cheques": cheque_total, "receipts": len(covered)},
    )
    return cash_up


@transaction.atomic
def authorise_cash_up(*, council: Council, cash_up: CashUp, acting_user: User) -> CashUp:
    """Bank the counted money: Dr bank, Cr each channel's clearing with what its covered
    receipts took, the variance to over/short."""
    require_council_capability(acting_user, council, Capability.AUTHORISE_CASH_UPS)
    cash_up = CashUp.objects.select_for_update().get(pk=cash_up.pk)
    if cash_up.status != CashUpStatus.SUBMITTED:
        raise ValidationError(f"This cash-up is already {cash_up.get_status_display().lower()}.")
    if cash_up.cashier_id == acting_user.pk:
        raise PermissionDenied("You submitted this cash-up, so someone else must authorise it.")
    lines = []
    if cash_up.counted_pence:
        lines.append(PostingLine(bank_account(), cash_up.counted_pence))
    lines += [
        PostingLine(clearing_account(channel), -pence)
        for channel, pence in _expected_by_channel(cash_up).items()
        if pence
    ]
    if cash_up.variance_pence:
        lines.append(
            PostingLine(system_account(AccountKind.CASH_VARIANCE), -cash_up.variance_pence)
        )
    if lines:
        till = f" ({cash_up.till})" if cash_up.till else ""
        cash_up.journal = post_journal(
            kind=JournalKind.CASH_UP,
            description=f"Cash-up of {cash_up.cashier_email} for {cash_up.business_date}{till}",
            lines=lines,
            acting_user=acting_user,
        )
    cash_up.status = CashUpStatus.AUTHORISED
    cash_up.authorised_by_id = acting_user.pk
    cash_up.authorised_by_email = acting_user.email
    cash_up.authorised_at = timezone.now()
    cash_up.save()
    record_audit(
        "cash_up.authorised",
        acting_user=acting_user,
        target=cash_up,
        after={"variance": cash_up.variance_pence},
    )
    return cash_up


@transaction.atomic
def return_cash_up(*, council: Council, cash_up: CashUp, reason: str, acting_user: User) -> CashUp:
    """Send a cash-up back to its cashier unbanked (nothing is posted): its receipts are no
    longer covered, so the cashier's next cash-up counts them again."""
    require_council_capability(acting_user, council, Capability.AUTHORISE_CASH_UPS)
    cash_up = CashUp.objects.select_for_update().get(pk=cash_up.pk)
    if cash_up.status != CashUpStatus.SUBMITTED:
        raise ValidationError(f"This cash-up is already {cash_up.get_status_display().lower()}.")
    if cash_up.cashier_id == acting_user.pk:
        raise PermissionDenied("You submitted this cash-up, so someone else must decide it.")
    if not reason.strip():
        raise ValidationError("Say why the cash-up is going back to the cashier.")
    receipts = list(cash_up.covered.order_by("receipt_id").values_list("receipt_id", flat=True))
    cash_up.covered.all().delete()
    cash_up.status = CashUpStatus.REJECTED
    cash_up.returned_by_email = acting_user.email
    cash_up.returned_at = timezone.now()
    cash_up.return_reason = reason.strip()
    cash_up.save(update_fields=["status", "returned_by_email", "returned_at", "return_reason"])
    record_audit(
        "cash_up.returned",
        acting_user=acting_user,
        target=cash_up,
        before={"status": CashUpStatus.SUBMITTED, "receipts": receipts},
        after={"status": cash_up.status},
        reason=cash_up.return_reason,
    )
    return cash_up


def _expected_by_channel(cash_up: CashUp) -> dict[Channel, int]:
    """What the covered receipts took, by channel. A cash-up recorded before receipts were
    covered one by one (none covered, yet something expected) falls back to the first
    channel of each kind, as it was banked then."""
    by_channel: dict[Channel, int] = defaultdict(int)
    for cover in cash_up.covered.select_related("receipt__channel"):
        by_channel[cover.receipt.channel] += cover.receipt.amount_pence
    if sum(by_channel.values()) != cash_up.expected_pence:
        by_channel = defaultdict(int)
        for kind, pence in (
            (ChannelKind.CASH, cash_up.expected_cash_pence),
            (ChannelKind.CHEQUE, cash_up.expected_cheques_pence),
        ):
            if pence:
                by_channel[Channel.objects.filter(kind=kind).order_by("pk").first()] += pence
    return by_channel
