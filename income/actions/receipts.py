"""Recording incoming payments (receipts), once each, allocated in full to funds or suspense."""

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from income.accounts import bank_account, clearing_account, fund_account, suspense_account
from income.actions.ledger import (
    PostingLine,
    is_pence,
    open_journal,
    post_journal,
    write_postings,
)
from income.balances import receipt_allocation_lines
from income.events import outbox
from income.fund_checks import checked_rule, excess_over_maximum, fund_problems, pounds
from income.models import (
    CashUpReceipt,
    CashUpStatus,
    Channel,
    Fund,
    Journal,
    JournalKind,
    Receipt,
    ReceiptStatus,
    RefundStatus,
    own_reference,
)
from income.text_fields import one_line
from tenants.audit.recording import record_audit
from tenants.capabilities import Capability, require_council_capability
from tenants.models import Council, User


@dataclass(frozen=True)
class Allocation:
    fund: Fund | None  # None: suspense
    amount_pence: int
    reference: str = ""


@dataclass(frozen=True)
class RecordedReceipt:
    receipt: Receipt
    created: bool  # False: the idempotency key had been seen, nothing changed


class IdempotencyConflict(ValidationError):
    """The key was seen before, for a different payment: something upstream is wrong."""


def record_receipt(
    *,
    channel: Channel,
    amount_pence: int,
    received_on: datetime.date,
    allocations: Sequence[Allocation],
    idempotency_key: str,
    acting_user: User | None,
    payer_reference: str = "",
    payer_name: str = "",
    narrative: str = "",
) -> RecordedReceipt:
    """Record a payment and allocate all of it. Safe to repeat: the same idempotency key,
    even submitted concurrently, yields the first receipt and changes nothing.

    Callers check capabilities (a counter needs TAKE_PAYMENTS; a webhook or file import is
    authorised by its own route); this action checks the money and the funds.
    """
    if not idempotency_key:
        raise ValidationError("A receipt needs an idempotency key.")
    existing = Receipt.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return RecordedReceipt(_same_payment(existing, amount_pence), created=False)

    # An allocation without its own reference is for the payer's reference; each keeps its
    # own to the ledger (Posting.reference), as stored text: one line, at most 50 characters.
    allocations = [
        Allocation(a.fund, a.amount_pence, one_line(a.reference or payer_reference)[:50])
        for a in allocations
    ]
    allocations = _checked_allocations(
        channel=channel,
        amount_pence=amount_pence,
        received_on=received_on,
        allocations=allocations,
    )
    try:
        with transaction.atomic():
            receipt = _write_receipt(
                channel=channel,
                amount_pence=amount_pence,
                received_on=received_on,
                allocations=allocations,
                idempotency_key=idempotency_key,
                acting_user=acting_user,
                payer_reference=payer_reference,
                payer_name=payer_name,
                narrative=narrative,
            )
    except IntegrityError:
        # Another submission with the same key committed first: theirs is the receipt.
        existing = Receipt.objects.filter(idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        return RecordedReceipt(_same_payment(existing, amount_pence), created=False)
    return RecordedReceipt(receipt, created=True)


def next_receipt_number() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval('income_receipt_number_seq')")
        return f"R{cursor.fetchone()[0]}"


def _same_payment(existing: Receipt, amount_pence: int) -> Receipt:
    if existing.amount_pence != amount_pence:
        raise IdempotencyConflict(
            f"This payment was already recorded as {existing.number} for "
            f"{pounds(existing.amount_pence)}, not {pounds(amount_pence)}."
        )
    return existing


def _checked_allocations(
    *,
    channel: Channel,
    amount_pence: int,
    received_on: datetime.date,
    allocations: Sequence[Allocation],
) -> list[Allocation]:
    problems: list[str] = []
    if not is_pence(amount_pence) or amount_pence <= 0:
        raise ValidationError("The amount must be a positive whole number of pence.")
    if channel.is_disabled:
        problems.append(f"{channel.name} is not taking payments.")
    if amount_pence < channel.min_amount_pence:
        problems.append(f"{channel.name} takes at least {pounds(channel.min_amount_pence)}.")
    if channel.max_amount_pence is not None and amount_pence > channel.max_amount_pence:
        problems.append(f"{channel.name} takes at most {pounds(channel.max_amount_pence)}.")
    if not allocations:
        problems.append("Say which fund (or suspense) the money is for.")
    checked: list[Allocation] = []
    for allocation in allocations:
        if not is_pence(allocation.amount_pence) or allocation.amount_pence <= 0:
            problems.append("Each allocation must be a positive whole number of pence.")
            continue
        if allocation.fund is None:
            checked.append(allocation)
            continue
        problems += fund_problems(
            allocation.fund,
            channel=channel,
            amount_pence=allocation.amount_pence,
            received_on=received_on,
            reference=allocation.reference,
        )
        excess = excess_over_maximum(allocation.fund, allocation.amount_pence)
        checked.append(
            Allocation(allocation.fund, allocation.amount_pence - excess, allocation.reference)
        )
        if excess:
            checked.append(Allocation(None, excess, allocation.reference))
    allocated = sum(a.amount_pence for a in allocations if is_pence(a.amount_pence))
    if allocations and allocated != amount_pence:
        problems.append(
            f"The allocations add up to {pounds(allocated)}, not the {pounds(amount_pence)} paid."
        )
    if problems:
        raise ValidationError(problems)
    return checked


def _write_receipt(
    *,
    channel: Channel,
    amount_pence: int,
    received_on: datetime.date,
    allocations: Sequence[Allocation],
    idempotency_key: str,
    acting_user: User | None,
    payer_reference: str,
    payer_name: str,
    narrative: str,
) -> Receipt:
    number = next_receipt_number()
    journal = open_journal(
        kind=JournalKind.RECEIPT,
        description=f"Receipt {number} by {channel.name}",
        acting_user=acting_user,
    )
    receipt = Receipt.objects.create(
        number=number,
        amount_pence=amount_pence,
        channel=channel,
        received_on=received_on,
        payer_reference=one_line(payer_reference)[:50],
        payer_name=one_line(payer_name)[:200],
        narrative=one_line(narrative)[:300],
        idempotency_key=idempotency_key,
        created_by_id=getattr(acting_user, "pk", None),
        journal=journal,
    )
    lines = [PostingLine(clearing_account(channel), amount_pence, receipt)]
    for allocation in allocations:
        account = fund_account(allocation.fund) if allocation.fund else suspense_account()
        lines.append(
            PostingLine(
                account,
                -allocation.amount_pence,
                receipt,
                own_reference(allocation.reference, receipt.payer_reference),
                checked_rule(allocation.fund),
            )
        )
    write_postings(journal, lines, booked_on=received_on)
    record_audit(
        "receipt.recorded",
        acting_user=acting_user,
        target=receipt,
        after={
            "amount_pence": amount_pence,
            "channel": channel.code,
            "allocations": [
                {
                    "fund": a.fund.code if a.fund else "SUSPENSE",
                    "reference": a.reference,
                    "amount_pence": a.amount_pence,
                }
                for a in allocations
            ],
        },
    )
    outbox.receipt_created(receipt, allocations)
    return receipt


@transaction.atomic
def reverse_receipt(
    *, council: Council, receipt: Receipt, reason: str, acting_user: User | None
) -> Journal:
    """Take a receipt back out of the ledger (a bounced cheque, a returned Direct Debit, an
    import reversed): one journal that empties wherever its money sits now."""
    if acting_user is not None:
        require_council_capability(acting_user, council, Capability.WORK_SUSPENSE)
    receipt = Receipt.objects.select_for_update().get(pk=receipt.pk)
    if receipt.status != ReceiptStatus.ACTIVE:
        raise ValidationError(f"Receipt {receipt.number} has already been reversed.")
    if not reason.strip():
        raise ValidationError("Say why the receipt is being reversed.")
    if receipt.refunds.exclude(status=RefundStatus.REJECTED).exists():
        raise ValidationError(
            f"{receipt.number} has refunds raised against it; settle those first."
        )
    cover = CashUpReceipt.objects.select_related("cash_up").filter(receipt=receipt).first()
    if cover is not None and cover.cash_up.status == CashUpStatus.SUBMITTED:
        raise ValidationError(
            f"{receipt.number} is counted in cash-up {cover.cash_up_id}, which is waiting to "
            "be authorised: have the cash-up decided first, then reverse the receipt."
        )
    held_now = receipt_allocation_lines(receipt)
    # Each line is emptied under its own reference, so a line can only be owed back what it
    # holds: a receipt whose lines add to nothing (or less) has nothing to reverse.
    if not held_now or sum(held_now.values()) <= 0:
        raise ValidationError(
            f"{receipt.number} holds no money now: all of it was taken back by a debit."
        )
    # What the receipt holds now (a debit may have taken part of it back already), each line
    # emptied under its own reference, so that the export's correction of a split payment's
    # Parking line names the Parking reference.
    # Cash a cash-up has banked is no longer in the till's clearing account: the money of a
    # cheque that bounced after banking leaves the bank.
    banked = cover is not None and cover.cash_up.status == CashUpStatus.AUTHORISED
    out_of = bank_account() if banked else clearing_account(receipt.channel)
    lines = [PostingLine(out_of, -sum(held_now.values()), receipt)]
    for line, held in held_now.items():
        account = (
            fund_account(Fund.objects.get(pk=line.fund_id)) if line.fund_id else suspense_account()
        )
        reference = own_reference(line.reference, receipt.payer_reference)
        lines.append(PostingLine(account, held, receipt, reference))
    # An imported receipt's journal is its chunk's, shared with other receipts: reversing one
    # of them is not reversing that journal.
    shared = Receipt.objects.filter(journal_id=receipt.journal_id).exclude(pk=receipt.pk)
    journal = post_journal(
        kind=JournalKind.REVERSAL,
        description=f"Reversal of receipt {receipt.number}: {reason}",
        lines=lines,
        acting_user=acting_user,
        reverses=None if shared.exists() else receipt.journal,
    )
    receipt.status = ReceiptStatus.REVERSED
    receipt.save(update_fields=["status"])
    record_audit(
        "receipt.reversed",
        acting_user=acting_user,
        target=receipt,
        after={"journal": journal.pk},
        reason=reason,
    )
    outbox.receipt_reversed(receipt, reason=reason)
    return journal
