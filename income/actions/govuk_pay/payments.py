"""Taking a payment through GOV.UK Pay, and applying what GOV.UK Pay says happened to it."""

import hashlib
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from income.actions.govuk_pay.settlement import keep_settlement, post_fee_journal, settlement_state
from income.actions.receipts import Allocation, record_receipt
from income.fund_checks import fund_problems
from income.govuk_pay.client import GovukPayError
from income.govuk_pay.connections import (
    client_for,
    connection_for_fund,
)
from income.govuk_pay.scrub import without_cardholder_data
from income.models import (
    Channel,
    ChannelKind,
    Fund,
    GovukPayConnection,
    GovukPayPayment,
    GovukPayPaymentItem,
    PaymentOrigin,
    PaymentStatus,
    WebhookOutcome,
)
from income.models.govuk_pay import FINISHED_STATUSES, STATUS_RANK
from tenants.audit.recording import record_audit
from tenants.capabilities import Capability, require_council_capability
from tenants.models import Council, User

logger = logging.getLogger(__name__)


# GOV.UK Pay's metadata takes at most 15 keys: three per item and our own reference.
MAX_BASKET_ITEMS = 4


UNFINISHED = [s for s in PaymentStatus.values if s not in FINISHED_STATUSES]


@dataclass(frozen=True)
class BasketItem:
    fund: Fund
    reference: str
    amount_pence: int


class PaymentServiceUnavailable(Exception):
    """GOV.UK Pay could not start the payment; nothing was taken and nothing recorded."""


def card_channel() -> Channel:
    channel = Channel.objects.filter(code="CARD").first()
    return channel or Channel.objects.filter(kind=ChannelKind.CARD).order_by("pk").first()


def basket_item_problems(
    item: BasketItem, *, origin: str, channel: Channel | None = None
) -> list[str]:
    """Why this item cannot be paid by card, in words for the payer; empty if it can."""
    channel = channel or card_channel()
    problems = []
    if origin == PaymentOrigin.PORTAL and not item.fund.is_public:
        problems.append(f"{item.fund.name} cannot be paid online.")
    problems += fund_problems(
        item.fund,
        channel=channel,
        amount_pence=item.amount_pence,
        received_on=timezone.localdate(),
        reference=item.reference,
    )
    return problems


def start_payment(
    *,
    council: Council,
    items: Sequence[BasketItem],
    origin: str,
    return_url: Callable[[str], str],
    acting_user: User | None,
    language: str = "en",
    payer_name: str = "",
) -> GovukPayPayment:
    """Create one GOV.UK Pay payment for the basket (or the phone call) and return it, with
    its `next_url` to send the payer (or the staff member keying the card) to.

    The portal needs no user (citizens pay); a phone payment needs TAKE_PAYMENTS. If GOV.UK
    Pay does not answer, PaymentServiceUnavailable: our record of the attempt is marked
    not created, and no receipt or ledger entry exists for it.
    """
    if origin == PaymentOrigin.PHONE:
        require_council_capability(acting_user, council, Capability.TAKE_PAYMENTS)
    if not items:
        raise ValidationError("Add something to pay for first.")
    if len(items) > MAX_BASKET_ITEMS:
        raise ValidationError(f"Pay for at most {MAX_BASKET_ITEMS} things at once.")
    channel = card_channel()
    problems = [
        p for item in items for p in basket_item_problems(item, origin=origin, channel=channel)
    ]
    if problems:
        raise ValidationError(problems)
    connections = {item.fund.pk: connection_for_fund(item.fund) for item in items}
    chosen = {c.pk if c else None for c in connections.values()}
    if None in chosen or not all(c.is_ready for c in connections.values() if c):
        raise ValidationError("Card payments are not available at the moment.")
    if len(chosen) > 1:
        raise ValidationError(
            "These payments go to different council bank accounts: pay for them separately."
        )
    connection = next(iter(connections.values()))
    language = language if language == "cy" and connection.welsh_enabled else "en"
    amount = sum(item.amount_pence for item in items)
    names = list(dict.fromkeys(item.fund.name for item in items))
    description = f"{' and '.join(names)}: {council.name}"[:255]

    with transaction.atomic():
        payment = GovukPayPayment.objects.create(
            connection=connection,
            reference=f"PENDING-{secrets.token_hex(8)}",
            return_token=secrets.token_urlsafe(32),
            amount_pence=amount,
            description=description,
            language=language,
            origin=origin,
            payer_name=payer_name[:200],
            created_by_id=getattr(acting_user, "pk", None),
        )
        prefix = "WEB" if origin == PaymentOrigin.PORTAL else "TEL"
        payment.reference = f"{prefix}-{payment.pk:07d}"
        payment.save(update_fields=["reference"])
        GovukPayPaymentItem.objects.bulk_create(
            GovukPayPaymentItem(
                payment=payment,
                fund=item.fund,
                reference=item.reference,
                amount_pence=item.amount_pence,
            )
            for item in items
        )
        record_audit(
            "govuk_pay.payment_started",
            acting_user=acting_user,
            target=payment,
            after={
                "origin": origin,
                "amount_pence": amount,
                "items": [
                    {"fund": i.fund.code, "reference": i.reference, "amount_pence": i.amount_pence}
                    for i in items
                ],
            },
        )

    try:
        with client_for(connection) as client:
            created = client.create_payment(
                amount=amount,
                reference=payment.reference,
                description=description,
                return_url=return_url(payment.return_token),
                metadata=_metadata(items),
                language=language,
                moto=origin == PaymentOrigin.PHONE,
                # Stable across the client's retries of this call, unique beyond this council.
                # (GOV.UK Pay allows letters, digits and hyphens only.)
                idempotency_key=f"{payment.reference}-{_digest(payment.return_token)}",
            )
    except GovukPayError as error:
        GovukPayPayment.objects.filter(pk=payment.pk, status=PaymentStatus.CREATING).update(
            status=PaymentStatus.NOT_CREATED, failure_message=str(error)[:200]
        )
        logger.warning("GOV.UK Pay could not start payment %s: %s", payment.reference, error)
        raise PaymentServiceUnavailable(str(error)) from error

    with transaction.atomic():
        payment = GovukPayPayment.objects.select_for_update().get(pk=payment.pk)
        payment.payment_id = created["payment_id"]
        payment.next_url = created["_links"]["next_url"]["href"]
        if STATUS_RANK.get(created["state"]["status"], 0) > STATUS_RANK[payment.status]:
            payment.status = created["state"]["status"]
        payment.save(update_fields=["payment_id", "next_url", "status", "updated_at"])
    return payment


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _metadata(items: Sequence[BasketItem]) -> dict[str, str]:
    """Fund, ledger and VAT codes of each item (GOV.UK Pay's own example is `ledger_code`)."""
    metadata: dict[str, str] = {}
    for number, item in enumerate(items, start=1):
        fund = item.fund
        metadata[f"fund_{number}"] = fund.code
        if fund.ledger_code:
            metadata[f"ledger_code_{number}"] = fund.ledger_code[:100]
        if fund.vat_code_id:
            metadata[f"vat_code_{number}"] = fund.vat_code.code
    if len(items) == 1 and items[0].fund.ledger_code:
        metadata["ledger_code"] = items[0].fund.ledger_code[:100]
    return metadata


@transaction.atomic
def apply_payment_resource(
    *, connection: GovukPayConnection, resource: dict[str, Any], acting_user: User | None = None
) -> str:
    """Bring our record of a payment up to what GOV.UK Pay says (a webhook's `resource`, a
    search result or a fetched payment): its state moves only forward; on success its receipt
    is recorded once (`govukpay:<payment id>`), allocated to the basket's funds; settlement
    dates are kept. Returns a WebhookOutcome value."""
    resource = without_cardholder_data(resource)
    payment_id = str(resource.get("payment_id") or "")
    state = resource.get("state") or {}
    status = str(state.get("status") or "")
    if not payment_id or status not in STATUS_RANK:
        return WebhookOutcome.IGNORED
    payment = (
        GovukPayPayment.objects.select_for_update()
        .filter(connection=connection, payment_id=payment_id)
        .first()
    )
    if payment is None:
        # Our create call's answer was lost (GOV.UK Pay made it, we never heard): adopt it by
        # our reference, which only this service's signed messages and answers can carry.
        payment = (
            GovukPayPayment.objects.select_for_update()
            .filter(
                connection=connection,
                reference=str(resource.get("reference") or ""),
                payment_id__isnull=True,
            )
            .first()
        )
        if payment is None:
            return WebhookOutcome.UNKNOWN_PAYMENT
        payment.payment_id = payment_id
    if resource.get("amount") != payment.amount_pence:
        logger.error(
            "GOV.UK Pay payment %s is for %s pence; we asked for %s: not applied",
            payment_id,
            resource.get("amount"),
            payment.amount_pence,
        )
        return WebhookOutcome.IGNORED

    before = {"status": payment.status, "settlement": settlement_state(payment)}
    changed = keep_settlement(payment, resource)
    if STATUS_RANK[status] > STATUS_RANK[payment.status]:
        payment.status = status
        payment.failure_code = str(state.get("code") or "")[:10]
        payment.failure_message = str(state.get("message") or "")[:200]
        changed = True
    if payment.status == PaymentStatus.SUCCESS and payment.receipt_id is None:
        payment.receipt = _record_card_receipt(payment, acting_user=acting_user)
        changed = True
    if post_fee_journal(
        payment, posted_fee=before["settlement"]["fee_pence"], acting_user=acting_user
    ):
        changed = True
    if not changed:
        return WebhookOutcome.UNCHANGED
    payment.save()
    if before["status"] != payment.status:
        record_audit(
            "govuk_pay.payment_status",
            acting_user=acting_user,
            target=payment,
            before=before,
            after={"status": payment.status, "receipt": getattr(payment.receipt, "number", None)},
        )
    if before["settlement"] != settlement_state(payment):
        record_audit(
            "govuk_pay.payment_settlement",
            acting_user=acting_user,
            target=payment,
            before=before["settlement"],
            after=settlement_state(payment),
        )
    return WebhookOutcome.APPLIED


def _record_card_receipt(payment: GovukPayPayment, *, acting_user: User | None):
    items = list(payment.items.select_related("fund", "fund__reference_rule"))
    received_on = payment.captured_on or timezone.localdate()
    common = {
        "channel": card_channel(),
        "amount_pence": payment.amount_pence,
        "received_on": received_on,
        "idempotency_key": f"govukpay:{payment.payment_id}",
        "acting_user": acting_user,
        "payer_reference": items[0].reference if items else "",
        "payer_name": payment.payer_name,
        "narrative": f"GOV.UK Pay {payment.reference} ({payment.payment_id})",
    }
    try:
        with transaction.atomic():
            return record_receipt(
                allocations=[Allocation(i.fund, i.amount_pence, i.reference) for i in items],
                **common,
            ).receipt
    except ValidationError as error:
        # The money has been taken whatever a fund now says (disabled since the basket was
        # filled, say): it lands in suspense, with the reason, for someone to allocate.
        logger.warning("Payment %s goes to suspense: %s", payment.reference, error.messages)
        common["narrative"] = f"{common['narrative']}: to suspense, {'; '.join(error.messages)}"
        # Each basket line waits in suspense under its own reference, to be allocated with it.
        waiting = [Allocation(None, i.amount_pence, i.reference) for i in items] or [
            Allocation(None, payment.amount_pence, common["payer_reference"])
        ]
        if sum(a.amount_pence for a in waiting) != payment.amount_pence:
            waiting = [Allocation(None, payment.amount_pence, common["payer_reference"])]
        return record_receipt(allocations=waiting, **common).receipt


def refresh_payment(*, payment: GovukPayPayment, acting_user: User | None = None) -> str:
    """Ask GOV.UK Pay where the payment is now (the payer just came back) and apply it."""
    if not payment.payment_id:
        return WebhookOutcome.UNCHANGED
    with client_for(payment.connection) as client:
        resource = client.get_payment(payment.payment_id)
    return apply_payment_resource(
        connection=payment.connection, resource=resource, acting_user=acting_user
    )
