"""Settlement (Stripe-backed services): each payment carries the PSP `fee`, and once GOV.UK Pay
has paid it into the council's bank, its `settled_date`; refunds carry the date they were taken
from a payout. Bank reconciliation expects each day's payout from these.

The fee reaches the ledger, as a cost, never as less income: the payer paid the whole amount
and their account (Council Tax, rent…) is credited with it, refunds are limited by it, and
councils account for income gross with the provider's charges as expenditure, not netted off.
So the receipt and its funds stay gross, and one journal per payment moves the fee from the
card clearing account to the fees account. It is posted when the payout that took the fee is
known, not at capture, and booked on the payout's settled date: that is when the money
actually leaves, on the day the bank line shows it, so the fees booked for a day are the
difference between that day's payout and the payments in it. Without it the card clearing
account would keep every fee ever charged as money GOV.UK Pay seemed to owe. The journal is
tied to the payment (`fee_journal`), so applying the same payment again posts nothing; a
corrected fee reverses the old journal and posts the new one.
"""

import datetime
import logging
from typing import Any

from django.db import transaction

from income.accounts import clearing_account, system_account
from income.actions.govuk_pay.refunds import follow_refund_status
from income.actions.ledger import PostingLine, post_journal, reverse_journal
from income.govuk_pay.resource_dates import date_from, datetime_from
from income.models import (
    AccountKind,
    CardRefundStatus,
    GovukPayConnection,
    GovukPayPayment,
    GovukPayRefund,
    JournalKind,
    PaymentStatus,
)
from tenants.audit.recording import record_audit
from tenants.models import User

logger = logging.getLogger(__name__)


# GOV.UK Pay sends no webhook when a payment is paid out, and payouts come days after the
# payment, so the mop-up finds settlement by searching on the settled date, from the oldest
# capture (or refund) still waiting for its payout. At most this far back, though: Stripe pays
# out within days, so a payment still waiting after months needs a person (its payout went
# astray, or the service stopped reporting them), and searching from it would fetch every
# payout since, on every run.
SETTLEMENT_LOOKBACK = datetime.timedelta(days=90)


def settlement_state(payment: GovukPayPayment) -> dict[str, Any]:
    return {
        "settled_on": payment.settled_on.isoformat() if payment.settled_on else None,
        "fee_pence": payment.fee_pence,
        "fee_journal": payment.fee_journal_id,
    }


def post_fee_journal(
    payment: GovukPayPayment, *, posted_fee: int | None, acting_user: User | None
) -> bool:
    """Dr fees, Cr card clearing, once per payment, when its payout is known (the caller
    holds the payment row's lock). `posted_fee` is the fee we held before this apply: if GOV.UK
    Pay now reports another, the journal of the old one is reversed and the new one posted.
    Returns whether anything was posted."""
    if payment.receipt_id is None or payment.settled_on is None or payment.fee_pence is None:
        return False
    reversed_old = False
    if payment.fee_journal_id is not None:
        if posted_fee == payment.fee_pence:
            return False
        # On the old fee's own day: that payout took the new fee, not the old one, so the
        # day's fees come to the new one and later days are untouched.
        reverse_journal(
            journal=payment.fee_journal,
            reason="GOV.UK Pay reported another fee",
            acting_user=acting_user,
            booked_on=payment.fee_journal.postings.values_list("booked_on", flat=True).first(),
        )
        payment.fee_journal = None
        reversed_old = True
    if payment.fee_pence == 0:
        return reversed_old
    receipt = payment.receipt
    payment.fee_journal = post_journal(
        kind=JournalKind.PROVIDER_FEE,
        description=(
            f"GOV.UK Pay provider fee on {receipt.number}, taken from the payout of "
            f"{payment.settled_on:%-d %b %Y}"
        ),
        lines=[
            PostingLine(system_account(AccountKind.FEES), payment.fee_pence, receipt),
            PostingLine(clearing_account(receipt.channel), -payment.fee_pence, receipt),
        ],
        acting_user=acting_user,
        # The day the payout that took the fee reaches the bank, not the day we heard of it.
        booked_on=payment.settled_on,
    )
    return True


def keep_settlement(payment: GovukPayPayment, resource: dict[str, Any]) -> bool:
    settlement = resource.get("settlement_summary") or {}
    changed = False
    captured = date_from(settlement.get("captured_date"))
    settled = date_from(settlement.get("settled_date"))
    submitted = datetime_from(settlement.get("capture_submit_time"))
    for attribute, value in (
        ("captured_on", captured),
        ("settled_on", settled),
        ("capture_submitted_at", submitted),
    ):
        if value is not None and getattr(payment, attribute) != value:
            setattr(payment, attribute, value)
            changed = True
    # Only a paid payment's figure means anything; an older message's would take it back.
    available = (resource.get("refund_summary") or {}).get("amount_available")
    status = (resource.get("state") or {}).get("status")
    fee = resource.get("fee")
    if (
        status == PaymentStatus.SUCCESS
        and isinstance(fee, int)
        and not isinstance(fee, bool)
        and 0 <= fee <= payment.amount_pence
        and fee != payment.fee_pence
    ):
        payment.fee_pence = fee
        changed = True
    if (
        status == PaymentStatus.SUCCESS
        and isinstance(available, int)
        and available != payment.refund_amount_available_pence
    ):
        payment.refund_amount_available_pence = available
        changed = True
    return changed


@transaction.atomic
def apply_refund_settlement(
    *, connection: GovukPayConnection, resource: dict[str, Any], acting_user: User | None = None
) -> bool:
    """Keep the day a refund we sent was taken from a GOV.UK Pay payout (a refund search
    result or a fetched refund); a refund we still hold as submitted is followed to its end.
    Idempotent. Returns whether anything changed."""
    refund_id = str(resource.get("refund_id") or "")
    settled = date_from((resource.get("settlement_summary") or {}).get("settled_date"))
    if not refund_id or settled is None:
        return False
    card_refund = (
        GovukPayRefund.objects.select_for_update()
        .select_related("refund")
        .filter(payment__connection=connection, govuk_refund_id=refund_id)
        .first()
    )
    if card_refund is None:
        # Made outside Counterfoil (GOV.UK Pay's own admin tool): that day's payout will be
        # short of what we expect by its amount, and the bank line waits on the worklist.
        logger.warning(
            "GOV.UK Pay refund %s of %s pence was not sent by Counterfoil",
            refund_id,
            resource.get("amount"),
        )
        return False
    before = card_refund.settled_on
    if card_refund.status == CardRefundStatus.SUBMITTED:
        follow_refund_status(card_refund, resource, acting_user=acting_user)
    elif card_refund.settled_on != settled:
        card_refund.settled_on = settled
        card_refund.save(update_fields=["settled_on", "updated_at"])
    if card_refund.settled_on == before:
        return False
    record_audit(
        "govuk_pay.refund_settled",
        acting_user=acting_user,
        target=card_refund,
        before={"settled_on": before.isoformat() if before else None},
        after={"settled_on": card_refund.settled_on.isoformat()},
    )
    return True
