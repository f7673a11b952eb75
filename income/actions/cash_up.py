"""Cash-up ("e-returns"): a cashier's count of the day's cash and cheques, authorised by
someone else, banked by one journal."""

import datetime
from collections.abc import Mapping, Sequence

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from income.accounts import bank_account, clearing_account, system_account
from income.actions.ledger import PostingLine, is_pence, post_journal
from income.fund_checks import pounds
from income.models import (
    AccountKind,
    CashUp,
    CashUpStatus,
    Channel,
    ChannelKind,
    JournalKind,
    Receipt,
    ReceiptStatus,
)
from tenants.audit.recording import record_audit
from tenants.capabilities import Capability, require_council_capability
from tenants.models import Council, User

# Notes and coins in pence; a count of anything else is refused.
DENOMINATIONS = (5000, 2000, 1000, 500, 200, 100, 50, 20, 10, 5, 2, 1)


def expected_takings(cashier: User, business_date: datetime.date, kind: ChannelKind) -> int:
    return (
        Receipt.objects.filter(
            created_by_id=cashier.pk,
            received_on=business_date,
            channel__kind=kind,
            status=ReceiptStatus.ACTIVE,
        ).aggregate(total=Sum("amount_pence"))["total"]
        or 0
    )


@transaction.atomic
def submit_cash_up(
    *,
    council: Council,
    business_date: datetime.date,
    denominations: Mapping[int, int],
    cheques: Sequence[Mapping[str, object]],
    note: str,
    acting_user: User,
) -> CashUp:
    require_council_capability(acting_user, council, Capability.TAKE_PAYMENTS)
    problems = []
    for value, count in denominations.items():
        if value not in DENOMINATIONS:
            problems.append(f"{pounds(value)} is not a note or coin.")
        if not is_pence(count) or count < 0:
            problems.append(f"The count of {pounds(value)} must be a whole number.")
    for cheque in cheques:
        if not is_pence(cheque.get("amount_pence")) or cheque["amount_pence"] <= 0:
            problems.append("Each cheque needs a positive amount.")
    if problems:
        raise ValidationError(problems)
    cash = sum(value * count for value, count in denominations.items())
    cheque_total = sum(int(cheque["amount_pence"]) for cheque in cheques)
    cash_up = CashUp(
        cashier_id=acting_user.pk,
        cashier_email=acting_user.email,
        business_date=business_date,
        denominations={str(value): count for value, count in denominations.items() if count},
        cheques=[dict(cheque) for cheque in cheques],
        cash_counted_pence=cash,
        cheques_counted_pence=cheque_total,
        expected_cash_pence=expected_takings(acting_user, business_date, ChannelKind.CASH),
        expected_cheques_pence=expected_takings(acting_user, business_date, ChannelKind.CHEQUE),
        note=note,
    )
    if cash_up.variance_pence and not note.strip():
        direction = "short of" if cash_up.variance_pence < 0 else "over"
        raise ValidationError(
            f"The count is {pounds(abs(cash_up.variance_pence))} {direction} the day's takings: "
            "explain the difference."
        )
    try:
        with transaction.atomic():
            cash_up.save()
    except IntegrityError as error:
        raise ValidationError(
            f"You have already submitted a cash-up for {business_date:%d %B %Y}."
        ) from error
    record_audit(
        "cash_up.submitted",
        acting_user=acting_user,
        target=cash_up,
        after={"cash": cash, "cheques": cheque_total, "variance": cash_up.variance_pence},
    )
    return cash_up


@transaction.atomic
def authorise_cash_up(*, council: Council, cash_up: CashUp, acting_user: User) -> CashUp:
    """Bank the counted money: Dr bank, Cr cash and cheque clearing, variance to over/short."""
    require_council_capability(acting_user, council, Capability.AUTHORISE_CASH_UPS)
    cash_up = CashUp.objects.select_for_update().get(pk=cash_up.pk)
    if cash_up.status != CashUpStatus.SUBMITTED:
        raise ValidationError(f"This cash-up is already {cash_up.get_status_display().lower()}.")
    if cash_up.cashier_id == acting_user.pk:
        raise PermissionDenied("You submitted this cash-up, so someone else must authorise it.")
    lines = []
    counted = cash_up.cash_counted_pence + cash_up.cheques_counted_pence
    if counted:
        lines.append(PostingLine(bank_account(), counted))
    for kind, expected in (
        (ChannelKind.CASH, cash_up.expected_cash_pence),
        (ChannelKind.CHEQUE, cash_up.expected_cheques_pence),
    ):
        if expected:
            channel = Channel.objects.filter(kind=kind).order_by("pk").first()
            lines.append(PostingLine(clearing_account(channel), -expected))
    if cash_up.variance_pence:
        lines.append(
            PostingLine(system_account(AccountKind.CASH_VARIANCE), -cash_up.variance_pence)
        )
    if lines:
        cash_up.journal = post_journal(
            kind=JournalKind.CASH_UP,
            description=f"Cash-up of {cash_up.cashier_email} for {cash_up.business_date}",
            lines=lines,
            acting_user=acting_user,
        )
    cash_up.status = CashUpStatus.AUTHORISED
    cash_up.authorised_by_id = acting_user.pk
    cash_up.authorised_by_email = acting_user.email
    cash_up.authorised_at = timezone.now()
    cash_up.save()
    record_audit("cash_up.authorised", acting_user=acting_user, target=cash_up)
    return cash_up
