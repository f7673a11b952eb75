# Long because every GOV.UK Pay step (connect, pay, webhook, refund, mop-up) shares its private
# helpers here; splitting it by step is known work, not done in the money-first session.
"""GOV.UK Pay: connecting a council, taking payments, applying what GOV.UK Pay says happened,
sending refunds back, and the mop-up that catches whatever webhooks missed.

Every way GOV.UK Pay tells us about a payment (the payer coming back, a webhook, the mop-up)
ends in `apply_payment_resource`, which is idempotent on the payment id and its state: a
payment only moves forward, and its receipt is recorded once, under `govukpay:<payment id>`.

Settlement (Stripe-backed services): each payment carries the PSP `fee`, and once GOV.UK Pay
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
import hashlib
import json
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Count, Min, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone
from psycopg import sql

from income.accounts import clearing_account, refunds_payable_account, system_account
from income.actions.ledger import PostingLine, post_journal, reverse_journal
from income.actions.receipts import Allocation, record_receipt
from income.events import outbox
from income.fund_checks import fund_problems
from income.govuk_pay.client import (
    GovukPayClient,
    GovukPayError,
    GovukPayNotFound,
    GovukPayRequestRejected,
    GovukPayUnavailable,
    RefundAmountMismatch,
)
from income.govuk_pay.connections import (
    client_for,
    connection_for_fund,
    forget_webhook_secrets,
    is_allowed_base_url,
    webhook_secrets,
)
from income.govuk_pay.encryption import encrypt, last_characters
from income.govuk_pay.json_body import load_message
from income.govuk_pay.scrub import without_cardholder_data
from income.govuk_pay.signature import matching_secret
from income.models import (
    AccountKind,
    CardRefundStatus,
    Channel,
    ChannelKind,
    Fund,
    GovukPayConnection,
    GovukPayPayment,
    GovukPayPaymentItem,
    GovukPayRefund,
    GovukPayWebhookMessage,
    JournalKind,
    PaymentOrigin,
    PaymentStatus,
    Refund,
    RefundStatus,
    WebhookOutcome,
)
from income.models.govuk_pay import FINISHED_STATUSES, STATUS_RANK
from tenants.audit.recording import record_audit
from tenants.capabilities import Capability, require_council_capability
from tenants.models import Council, User

logger = logging.getLogger(__name__)

# GOV.UK Pay's metadata takes at most 15 keys: three per item and our own reference.
MAX_BASKET_ITEMS = 4
# GOV.UK Pay sends no webhook when a payment is paid out, and payouts come days after the
# payment, so the mop-up finds settlement by searching on the settled date, from the oldest
# capture (or refund) still waiting for its payout. At most this far back, though: Stripe pays
# out within days, so a payment still waiting after months needs a person (its payout went
# astray, or the service stopped reporting them), and searching from it would fetch every
# payout since, on every run.
SETTLEMENT_LOOKBACK = datetime.timedelta(days=90)
UNFINISHED = [s for s in PaymentStatus.values if s not in FINISHED_STATUSES]
ADDRESS_CHANGE_NEEDS_KEY = (
    "Changing GOV.UK Pay's address clears the saved API key: enter the key for the new address."
)
CONNECTION_TEST_FAILED = (
    "The connection test failed: GOV.UK Pay did not accept the key, or could not be reached. "
    "Check the API key and try again."
)


# --- connection ---------------------------------------------------------------------------


def save_connection(
    *,
    council: Council,
    acting_user: User,
    fund: Fund | None = None,
    api_key: str = "",
    webhook_secret: str = "",
    base_url: str = "",
    welsh_enabled: bool | None = None,
) -> GovukPayConnection:
    """Set a GOV.UK Pay service's API key and webhook signing secret (blank keeps what is
    there), stored encrypted; only their last characters are ever shown again."""
    require_council_capability(acting_user, council, Capability.MANAGE_INTEGRATIONS)
    with transaction.atomic():
        connection = GovukPayConnection.objects.select_for_update().filter(fund=fund).first()
        if connection is None:
            connection = GovukPayConnection(fund=fund)
        before = _connection_state(connection) if connection.pk else None
        address = base_url.strip().rstrip("/")
        if address and not is_allowed_base_url(address):
            raise ValidationError("Choose GOV.UK Pay's address from the list.")
        if address and address != connection.base_url:
            # The saved key belongs to the old address: it must never go to the new one, so
            # it is dropped and must be given again (in this same save).
            had_key = bool(connection.api_key_encrypted)
            connection.api_key_encrypted = ""
            connection.api_key_last_characters = ""
            connection.base_url = address
            if had_key and not api_key.strip():
                raise ValidationError(ADDRESS_CHANGE_NEEDS_KEY)
        if api_key.strip():
            connection.api_key_encrypted = encrypt(api_key.strip())
            connection.api_key_last_characters = last_characters(api_key.strip())
        if webhook_secret.strip():
            connection.webhook_secret_encrypted = encrypt(webhook_secret.strip())
            connection.webhook_secret_last_characters = last_characters(webhook_secret.strip())
        if welsh_enabled is not None:
            connection.welsh_enabled = welsh_enabled
        if not connection.api_key_encrypted:
            raise ValidationError("Enter the GOV.UK Pay API key.")
        connection.save()
        record_audit(
            "govuk_pay.connection_saved",
            acting_user=acting_user,
            target=connection,
            before=before,
            after=_connection_state(connection),
        )
    forget_webhook_secrets([db_connection.schema_name])
    return connection


def _connection_state(connection: GovukPayConnection) -> dict[str, Any]:
    # Never the secrets themselves: their last characters say which one was set.
    return {
        "fund": connection.fund.code if connection.fund else None,
        "base_url": connection.base_url,
        "api_key_ends": connection.api_key_last_characters,
        "webhook_secret_ends": connection.webhook_secret_last_characters,
        "welsh_enabled": connection.welsh_enabled,
    }


def check_connection(
    *, council: Council, connection: GovukPayConnection, acting_user: User
) -> tuple[bool, str]:
    """Ask GOV.UK Pay for one payment with the stored key: does it accept the key?"""
    require_council_capability(acting_user, council, Capability.MANAGE_INTEGRATIONS)
    try:
        with client_for(connection) as client:
            client.search_payments_page(display_size=1)
    except GovukPayError as error:
        # One message whatever went wrong: what the far side said (or that nothing answered,
        # or how quickly) is kept for the operators' log, not shown on the page.
        logger.warning(
            "GOV.UK Pay connection test failed for connection %s: %s (status %s)",
            connection.pk,
            type(error).__name__,
            error.status,
        )
        ok, result = False, CONNECTION_TEST_FAILED
    else:
        ok, result = True, "Connected: GOV.UK Pay accepted the key."
    GovukPayConnection.objects.filter(pk=connection.pk).update(
        last_tested_at=timezone.now(), last_test_result=result[:300]
    )
    record_audit(
        "govuk_pay.connection_tested", acting_user=acting_user, target=connection, after={"ok": ok}
    )
    return ok, result


# --- taking a payment -----------------------------------------------------------------------


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


# --- applying what GOV.UK Pay says ----------------------------------------------------------


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

    before = {"status": payment.status, "settlement": _settlement_state(payment)}
    changed = _keep_settlement(payment, resource)
    if STATUS_RANK[status] > STATUS_RANK[payment.status]:
        payment.status = status
        payment.failure_code = str(state.get("code") or "")[:10]
        payment.failure_message = str(state.get("message") or "")[:200]
        changed = True
    if payment.status == PaymentStatus.SUCCESS and payment.receipt_id is None:
        payment.receipt = _record_card_receipt(payment, acting_user=acting_user)
        changed = True
    if _post_fee_journal(
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
    if before["settlement"] != _settlement_state(payment):
        record_audit(
            "govuk_pay.payment_settlement",
            acting_user=acting_user,
            target=payment,
            before=before["settlement"],
            after=_settlement_state(payment),
        )
    return WebhookOutcome.APPLIED


def _settlement_state(payment: GovukPayPayment) -> dict[str, Any]:
    return {
        "settled_on": payment.settled_on.isoformat() if payment.settled_on else None,
        "fee_pence": payment.fee_pence,
        "fee_journal": payment.fee_journal_id,
    }


def _post_fee_journal(
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


def _keep_settlement(payment: GovukPayPayment, resource: dict[str, Any]) -> bool:
    settlement = resource.get("settlement_summary") or {}
    changed = False
    captured = _date(settlement.get("captured_date"))
    settled = _date(settlement.get("settled_date"))
    submitted = _datetime(settlement.get("capture_submit_time"))
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


def _date(value: object) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _datetime(value: object) -> datetime.datetime | None:
    try:
        return datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None


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


# --- webhooks -------------------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookIntake:
    status: int  # the HTTP status to answer
    message_pk: int | None = None  # the inbox row, if this message was new


REQUIRED_WEBHOOK_FIELDS = ("webhook_message_id", "resource_id", "resource_type", "event_type")


def receive_webhook(*, body: bytes, signature: str, acting_user: None = None) -> WebhookIntake:
    """Check the signature against the council's secrets, store the message once (card and
    cardholder data dropped first), and have it applied after commit. Answer at once.

    A wrong signature is refused (401) and nothing is stored; a replayed message id is
    answered 200 and changes nothing.
    """
    secrets_by_connection = webhook_secrets()
    secret = matching_secret(body, signature, [s for _pk, s in secrets_by_connection])
    if secret is None:
        return WebhookIntake(401)
    connection_pk = next(pk for pk, s in secrets_by_connection if s == secret)
    try:
        message = load_message(body)
    except ValueError:  # not JSON, or nested deeper than any real message
        return WebhookIntake(400)
    if not isinstance(message, dict) or not all(
        isinstance(message.get(name), str) and message.get(name) for name in REQUIRED_WEBHOOK_FIELDS
    ):
        return WebhookIntake(400)
    stored = without_cardholder_data(message)
    message_pk = _insert_inbox_message(
        webhook_message_id=message["webhook_message_id"][:100],
        connection_pk=connection_pk,
        event_type=message["event_type"][:50],
        resource_id=message["resource_id"][:64],
        body=json.dumps(stored),
    )
    if message_pk is not None:
        _schedule_inbox_drain()
    return WebhookIntake(200, message_pk)


_INSERT_MESSAGE = sql.SQL(
    """
    WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true))
    INSERT INTO {table}
        (webhook_message_id, connection_id, event_type, resource_id, body, received_at, outcome)
    SELECT %s, %s, %s, %s, %s::jsonb, now(), 'pending' FROM relaxed
    ON CONFLICT (webhook_message_id) DO NOTHING
    RETURNING id
    """
)


def _insert_inbox_message(
    *, webhook_message_id: str, connection_pk: int, event_type: str, resource_id: str, body: str
) -> int | None:
    """One statement, one round trip: the inbox row, or None if the message id was seen.

    The table is named with the council's schema (a name we generate, never user input), on
    the driver's own cursor, so no `SET search_path` round trip precedes it. The commit does
    not wait for the disk (`synchronous_commit` off for this statement only): a crash can lose
    at most the last moment's acknowledged messages, and nothing the mop-up does not restore;
    it can never half-store one.
    """
    db_connection.ensure_connection()
    table = sql.Identifier(db_connection.schema_name, "income_govukpaywebhookmessage")
    with db_connection.connection.cursor() as cursor:
        cursor.execute(
            _INSERT_MESSAGE.format(table=table),
            [webhook_message_id, connection_pk, event_type, resource_id, body],
        )
        row = cursor.fetchone()
    return row[0] if row else None


# Applying is coalesced: at most one drain task per council per process each window, sent
# after the commit and run a window later, so it finds every message this process stored
# meanwhile. (A publish per webhook cost more than the rest of the intake.) The mop-up drains
# the inbox too, so nothing waits long even if a drain is lost.
DRAIN_WINDOW_SECONDS = 1.0
_next_drain_at: dict[str, float] = {}


def _schedule_inbox_drain() -> None:
    schema = db_connection.schema_name
    now = time.monotonic()
    if _next_drain_at.get(schema, 0.0) > now:
        return
    _next_drain_at[schema] = now + DRAIN_WINDOW_SECONDS
    from income.tasks import apply_govuk_pay_inbox
    from tenants.council_task import SCHEMA_HEADER

    transaction.on_commit(
        lambda: apply_govuk_pay_inbox.apply_async(
            countdown=DRAIN_WINDOW_SECONDS, headers={SCHEMA_HEADER: schema}
        )
    )


def forget_scheduled_drains() -> None:
    """This process forgets which drains it has sent (for tests, which reuse schema names)."""
    _next_drain_at.clear()


def apply_inbox(*, acting_user: User | None = None, limit: int = 1000) -> int:
    """Apply every pending inbox message, oldest first; returns how many were applied."""
    pending = list(
        GovukPayWebhookMessage.objects.filter(outcome=WebhookOutcome.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    for message_pk in pending:
        apply_webhook_message(message_pk=message_pk, acting_user=acting_user)
    return len(pending)


def apply_webhook_message(*, message_pk: int, acting_user: User | None = None) -> str:
    """Apply one inbox message; idempotent (an applied message is not applied again)."""
    with transaction.atomic():
        message = (
            GovukPayWebhookMessage.objects.select_for_update()
            .select_related("connection")
            .filter(pk=message_pk)
            .first()
        )
        if message is None or message.outcome != WebhookOutcome.PENDING:
            return message.outcome if message else WebhookOutcome.IGNORED
        resource = message.body.get("resource")
        if (
            message.body.get("resource_type") != "payment"
            or not isinstance(resource, dict)
            or resource.get("payment_id") != message.resource_id
        ):
            outcome = WebhookOutcome.IGNORED
        else:
            outcome = apply_payment_resource(
                connection=message.connection, resource=resource, acting_user=acting_user
            )
        message.outcome = outcome
        message.applied_at = timezone.now()
        message.save(update_fields=["outcome", "applied_at"])
        payment = (
            GovukPayPayment.objects.filter(
                connection=message.connection, payment_id=message.resource_id
            ).first()
            if message.event_type == "card_payment_refunded"
            else None
        )
    if payment is not None:
        for card_refund in payment.refunds.filter(status=CardRefundStatus.SUBMITTED):
            refresh_card_refund(card_refund_pk=card_refund.pk, acting_user=acting_user)
    return outcome


# --- refunds --------------------------------------------------------------------------------


def queue_card_refund(*, refund: Refund, acting_user: User | None) -> GovukPayRefund | None:
    """Called when a card refund is approved (in its transaction): if the receipt came through
    GOV.UK Pay, the refund is sent there once the approval commits."""
    payment = GovukPayPayment.objects.filter(receipt_id=refund.receipt_id).first()
    if payment is None or not payment.payment_id:
        return None
    card_refund, created = GovukPayRefund.objects.get_or_create(
        refund=refund, defaults={"payment": payment, "amount_pence": refund.amount_pence}
    )
    if created:
        from income.tasks import send_govuk_pay_refund

        record_audit(
            "govuk_pay.refund_queued",
            acting_user=acting_user,
            target=card_refund,
            after={"payment": payment.reference, "amount_pence": refund.amount_pence},
        )
        send_govuk_pay_refund.delay_on_commit(card_refund.pk)
    return card_refund


def send_card_refund(*, card_refund_pk: int, acting_user: User | None = None) -> str:
    """Send an approved refund to GOV.UK Pay with the compare-and-set amount. Refunds of one
    payment are sent one at a time (the payment row is locked), and the amount we expect
    GOV.UK Pay still to hold is what the payment took less the refunds it has accepted from
    us: if GOV.UK Pay holds less, a refund we have not heard of exists (perhaps our own
    earlier try whose answer was lost), and it is found rather than sent again.

    Raises GovukPayUnavailable when GOV.UK Pay does not answer (the task retries)."""
    with transaction.atomic():
        card_refund = (
            GovukPayRefund.objects.select_for_update()
            .select_related("refund")
            .filter(pk=card_refund_pk)
            .first()
        )
        if card_refund is None or card_refund.status != CardRefundStatus.PENDING:
            return card_refund.status if card_refund else "missing"
        payment = (
            GovukPayPayment.objects.select_for_update()
            .select_related("connection")
            .get(pk=card_refund.payment_id)
        )
        accepted = (
            payment.refunds.filter(
                status__in=[CardRefundStatus.SUBMITTED, CardRefundStatus.SUCCESS]
            ).aggregate(total=Sum("amount_pence"))["total"]
            or 0
        )
        expected_available = payment.amount_pence - accepted
        card_refund.attempts += 1
        card_refund.save(update_fields=["attempts", "updated_at"])
        try:
            with client_for(payment.connection) as client:
                try:
                    answer = client.create_refund(
                        payment.payment_id,
                        amount=card_refund.amount_pence,
                        refund_amount_available=expected_available,
                    )
                except RefundAmountMismatch:
                    answer = _unrecorded_refund(client, payment, card_refund)
                    if answer is None:
                        raise
        except GovukPayUnavailable:
            raise  # the task tries again later; nothing was refunded or recorded
        except GovukPayError as error:
            _card_refund_failed(card_refund, str(error), acting_user=acting_user)
            return CardRefundStatus.ERROR
        card_refund.govuk_refund_id = answer["refund_id"]
        card_refund.status = CardRefundStatus.SUBMITTED
        card_refund.error = ""
        card_refund.save()
        Refund.objects.filter(pk=card_refund.refund_id).update(status=RefundStatus.SENT)
        record_audit(
            "govuk_pay.refund_sent",
            acting_user=acting_user,
            target=card_refund,
            after={"refund_id": answer["refund_id"], "status": answer.get("status")},
        )
        _follow_refund_status(card_refund, answer, acting_user=acting_user)
    return card_refund.status


def _unrecorded_refund(client, payment: GovukPayPayment, card_refund: GovukPayRefund):
    known = set(
        GovukPayRefund.objects.exclude(govuk_refund_id=None).values_list(
            "govuk_refund_id", flat=True
        )
    )
    for candidate in client.payment_refunds(payment.payment_id):
        if candidate["refund_id"] not in known and candidate["amount"] == card_refund.amount_pence:
            return candidate
    return None


def refresh_card_refund(*, card_refund_pk: int, acting_user: User | None = None) -> str:
    """Ask GOV.UK Pay how a submitted refund went, and follow it to success or error."""
    with transaction.atomic():
        card_refund = (
            GovukPayRefund.objects.select_for_update()
            .select_related("payment__connection", "refund")
            .get(pk=card_refund_pk)
        )
        if card_refund.status != CardRefundStatus.SUBMITTED:
            return card_refund.status
        with client_for(card_refund.payment.connection) as client:
            answer = client.get_refund(card_refund.payment.payment_id, card_refund.govuk_refund_id)
        _follow_refund_status(card_refund, answer, acting_user=acting_user)
    return card_refund.status


def _follow_refund_status(
    card_refund: GovukPayRefund, answer: dict[str, Any], *, acting_user: User | None
) -> None:
    status = answer.get("status")
    settled = _date((answer.get("settlement_summary") or {}).get("settled_date"))
    if settled and card_refund.settled_on != settled:
        card_refund.settled_on = settled
        card_refund.save(update_fields=["settled_on", "updated_at"])
    if status == "success":
        refund = card_refund.refund
        receipt = refund.receipt
        post_journal(
            kind=JournalKind.REFUND_PAID,
            description=f"Refund paid to the card by GOV.UK Pay on {receipt.number}",
            lines=[
                PostingLine(refunds_payable_account(), card_refund.amount_pence, receipt),
                PostingLine(clearing_account(receipt.channel), -card_refund.amount_pence, receipt),
            ],
            acting_user=acting_user,
        )
        card_refund.status = CardRefundStatus.SUCCESS
        card_refund.save(update_fields=["status", "updated_at"])
        Refund.objects.filter(pk=refund.pk).update(status=RefundStatus.PAID)
        record_audit("govuk_pay.refund_succeeded", acting_user=acting_user, target=card_refund)
        outbox.refund_paid(refund)
    elif status == "error":
        _card_refund_failed(
            card_refund, "GOV.UK Pay could not refund the card.", acting_user=acting_user
        )


def _card_refund_failed(
    card_refund: GovukPayRefund, reason: str, *, acting_user: User | None
) -> None:
    """The refund did not happen: say so, and put the money back where it was approved from."""
    card_refund.status = CardRefundStatus.ERROR
    card_refund.error = reason[:300]
    card_refund.save(update_fields=["status", "error", "updated_at"])
    refund = Refund.objects.select_for_update().get(pk=card_refund.refund_id)
    if refund.journal_id and refund.status != RefundStatus.FAILED:
        reverse_journal(
            journal=refund.journal, reason=f"card refund failed: {reason}"[:200], acting_user=None
        )
    refund.status = RefundStatus.FAILED
    refund.save(update_fields=["status"])
    record_audit(
        "govuk_pay.refund_failed", acting_user=acting_user, target=card_refund, reason=reason
    )


# --- mop-up ---------------------------------------------------------------------------------


@dataclass
class MopUpSummary:
    seen: int = 0
    applied: int = 0
    problems: list[str] = field(default_factory=list)


def mop_up(
    *,
    connection: GovukPayConnection,
    lookback: datetime.timedelta = datetime.timedelta(days=3),
    settled_lookback: datetime.timedelta = SETTLEMENT_LOOKBACK,
    acting_user: User | None = None,
) -> MopUpSummary:
    """Apply whatever GOV.UK Pay has that webhooks did not bring: payments created in the
    lookback (searched page by page), our own unfinished payments (fetched one by one, as
    search is only eventually consistent), payments and refunds settled since the oldest of
    ours still waiting for a payout, at most the settled lookback ago (Stripe-backed
    services), and refunds still to send or follow."""
    summary = MopUpSummary()
    apply_inbox(acting_user=acting_user)
    now = timezone.now()
    # What we hold already: a payment in the same state, and settled if paid, is skipped.
    known = {
        payment_id: (status, settled_on is not None)
        for payment_id, status, settled_on in GovukPayPayment.objects.filter(connection=connection)
        .exclude(payment_id=None)
        .values_list("payment_id", "status", "settled_on")
    }
    done: set[str] = set()
    try:
        with client_for(connection) as client:
            since = (now - lookback).astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            for resource in client.search_payments(from_date=since):
                summary.seen += 1
                payment_id = resource.get("payment_id")
                status = (resource.get("state") or {}).get("status")
                held = known.get(payment_id)
                if held is not None and held[0] == status and (status != "success" or held[1]):
                    continue
                outcome = apply_payment_resource(
                    connection=connection, resource=resource, acting_user=acting_user
                )
                done.add(payment_id)
                summary.applied += outcome == WebhookOutcome.APPLIED
            for payment in GovukPayPayment.objects.filter(
                connection=connection,
                status__in=UNFINISHED,
                created_at__gte=now - lookback,
            ).exclude(payment_id=None):
                if payment.payment_id in done:
                    continue
                try:
                    resource = client.get_payment(payment.payment_id)
                except GovukPayNotFound:
                    continue
                outcome = apply_payment_resource(
                    connection=connection, resource=resource, acting_user=acting_user
                )
                summary.applied += outcome == WebhookOutcome.APPLIED
            _mop_up_settlements(
                client,
                connection=connection,
                earliest=timezone.localdate() - settled_lookback,
                settled_already={pid for pid, (_status, settled) in known.items() if settled},
                done=done,
                summary=summary,
                acting_user=acting_user,
            )
    except GovukPayError as error:
        summary.problems.append(str(error))
        logger.warning("GOV.UK Pay mop-up stopped: %s", error)
    for card_refund in GovukPayRefund.objects.filter(
        payment__connection=connection,
        status__in=[CardRefundStatus.PENDING, CardRefundStatus.SUBMITTED],
    ):
        try:
            if card_refund.status == CardRefundStatus.PENDING:
                send_card_refund(card_refund_pk=card_refund.pk, acting_user=acting_user)
            else:
                refresh_card_refund(card_refund_pk=card_refund.pk, acting_user=acting_user)
        except GovukPayError as error:
            summary.problems.append(str(error))
    GovukPayConnection.objects.filter(pk=connection.pk).update(last_mop_up_at=now)
    return summary


def _mop_up_settlements(
    client: GovukPayClient,
    *,
    connection: GovukPayConnection,
    earliest: datetime.date,
    settled_already: set[str],
    done: set[str],
    summary: MopUpSummary,
    acting_user: User | None,
) -> None:
    """Payments and refunds GOV.UK Pay has paid out (or taken from a payout) that we still
    wait for, searched by settled date no further back than `earliest`.

    Asked only while something of ours waits for it: a payment with a PSP fee (so from a
    Stripe-backed service) not yet paid out, searched from the day the oldest was captured (a
    payment is paid out after it is captured), or a refund not yet taken from a payout,
    searched from the day the oldest one's payment was captured. A service whose provider
    reports no settled dates is never asked."""
    waiting = GovukPayPayment.objects.filter(
        connection=connection,
        status=PaymentStatus.SUCCESS,
        settled_on__isnull=True,
        fee_pence__isnull=False,
    ).aggregate(first=Min("captured_on"), count=Count("pk"))
    # A refund is taken from a payout after its payment was captured: a day in GOV.UK Pay's
    # own dates, where our record of the refund is dated by our clock, not theirs.
    oldest_refund_waiting = GovukPayRefund.objects.filter(
        payment__connection=connection,
        payment__fee_pence__isnull=False,
        status__in=[CardRefundStatus.SUBMITTED, CardRefundStatus.SUCCESS],
        settled_on__isnull=True,
    ).aggregate(first=Min(Coalesce("payment__captured_on", TruncDate("created_at"))))["first"]
    try:
        payments = (
            list(
                client.search_payments(
                    from_settled_date=max(earliest, waiting["first"] or earliest).isoformat()
                )
            )
            if waiting["count"]
            else []
        )
    except GovukPayRequestRejected as error:
        # Settled dates are searchable only on Stripe-backed services.
        logger.info("GOV.UK Pay does not search this service by settled date: %s", error)
        return
    for resource in payments:
        summary.seen += 1
        payment_id = resource.get("payment_id")
        if payment_id in done or payment_id in settled_already:
            continue
        outcome = apply_payment_resource(
            connection=connection, resource=resource, acting_user=acting_user
        )
        done.add(payment_id)
        summary.applied += outcome == WebhookOutcome.APPLIED
    if oldest_refund_waiting is None:
        return
    since = max(earliest, oldest_refund_waiting)
    for resource in client.search_refunds(from_settled_date=since.isoformat()):
        summary.applied += apply_refund_settlement(
            connection=connection, resource=resource, acting_user=acting_user
        )


@transaction.atomic
def apply_refund_settlement(
    *, connection: GovukPayConnection, resource: dict[str, Any], acting_user: User | None = None
) -> bool:
    """Keep the day a refund we sent was taken from a GOV.UK Pay payout (a refund search
    result or a fetched refund); a refund we still hold as submitted is followed to its end.
    Idempotent. Returns whether anything changed."""
    refund_id = str(resource.get("refund_id") or "")
    settled = _date((resource.get("settlement_summary") or {}).get("settled_date"))
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
        _follow_refund_status(card_refund, resource, acting_user=acting_user)
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


def run_mop_up(
    *, council: Council, acting_user: User | None, lookback_days: int = 3
) -> MopUpSummary:
    """The mop-up for every GOV.UK Pay service of the current council (an admin's "check now"
    button, or the periodic task with no user)."""
    if acting_user is not None:
        require_council_capability(acting_user, council, Capability.MANAGE_INTEGRATIONS)
    total = MopUpSummary()
    for connection in GovukPayConnection.objects.exclude(api_key_encrypted=""):
        part = mop_up(
            connection=connection,
            lookback=datetime.timedelta(days=lookback_days),
            acting_user=acting_user,
        )
        total.seen += part.seen
        total.applied += part.applied
        total.problems += part.problems
    if acting_user is not None:
        record_audit(
            "govuk_pay.mop_up",
            acting_user=acting_user,
            after={"seen": total.seen, "applied": total.applied, "problems": total.problems},
        )
    return total


__all__ = [
    "BasketItem",
    "PaymentServiceUnavailable",
    "apply_inbox",
    "apply_payment_resource",
    "apply_refund_settlement",
    "apply_webhook_message",
    "card_channel",
    "check_connection",
    "mop_up",
    "queue_card_refund",
    "receive_webhook",
    "refresh_card_refund",
    "refresh_payment",
    "run_mop_up",
    "save_connection",
    "send_card_refund",
    "start_payment",
]
