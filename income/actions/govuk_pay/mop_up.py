"""The mop-up: what GOV.UK Pay has that webhooks did not bring, found by searching it."""

import datetime
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Min
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from income.actions.govuk_pay.payments import UNFINISHED, apply_payment_resource
from income.actions.govuk_pay.refunds import refresh_card_refund, send_card_refund
from income.actions.govuk_pay.settlement import SETTLEMENT_LOOKBACK, apply_refund_settlement
from income.actions.govuk_pay.webhooks import apply_inbox
from income.govuk_pay.client import (
    GovukPayClient,
    GovukPayError,
    GovukPayNotFound,
    GovukPayRequestRejected,
)
from income.govuk_pay.connections import client_for
from income.models import (
    CardRefundStatus,
    GovukPayConnection,
    GovukPayPayment,
    GovukPayRefund,
    PaymentStatus,
    WebhookOutcome,
)
from tenants.audit.recording import record_audit
from tenants.capabilities import Capability, require_council_capability
from tenants.models import Council, User

logger = logging.getLogger(__name__)


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
    done: set[str] = set()
    try:
        with client_for(connection) as client:
            since = (now - lookback).astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            for page in _in_pages(client.search_payments(from_date=since)):
                held = _held_states(connection, page)
                for resource in page:
                    summary.seen += 1
                    payment_id = resource.get("payment_id")
                    if not _news_in(resource, held.get(payment_id)):
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


# Search results are looked up against what we hold a page at a time: a run reads only the
# payments GOV.UK Pay returned, never every payment the service has ever taken.
LOOKUP_PAGE = 500


def _in_pages(resources: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    page: list[dict[str, Any]] = []
    for resource in resources:
        page.append(resource)
        if len(page) == LOOKUP_PAGE:
            yield page
            page = []
    if page:
        yield page


@dataclass(frozen=True)
class HeldState:
    status: str
    settled: bool
    has_fee: bool


def _held_states(
    connection: GovukPayConnection, page: list[dict[str, Any]]
) -> dict[str, HeldState]:
    """What we hold of each payment of the page: its status, and whether we know its fee and
    that it was paid out."""
    ids = [resource["payment_id"] for resource in page if resource.get("payment_id")]
    return {
        payment_id: HeldState(status, settled_on is not None, fee_pence is not None)
        for payment_id, status, settled_on, fee_pence in GovukPayPayment.objects.filter(
            connection=connection, payment_id__in=ids
        ).values_list("payment_id", "status", "settled_on", "fee_pence")
    }


def _news_in(resource: dict[str, Any], held: HeldState | None) -> bool:
    """Whether GOV.UK Pay says anything about the payment that we do not hold already: a
    payment that is not ours yet, a new status, a payout or a fee. (A service whose provider
    reports no payouts has nothing more to say about a payment in the state we hold.)"""
    if held is None:
        return True
    status = (resource.get("state") or {}).get("status")
    settled_date = (resource.get("settlement_summary") or {}).get("settled_date")
    return (
        status != held.status
        or (bool(settled_date) and not held.settled)
        or (resource.get("fee") is not None and not held.has_fee)
    )


def _mop_up_settlements(
    client: GovukPayClient,
    *,
    connection: GovukPayConnection,
    earliest: datetime.date,
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
    for page in _in_pages(payments):
        held = _held_states(connection, page)
        for resource in page:
            summary.seen += 1
            payment_id = resource.get("payment_id")
            known = held.get(payment_id)
            if payment_id in done or (known is not None and known.settled):
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
