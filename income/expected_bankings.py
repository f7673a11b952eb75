"""What the ledger expects to be banked, day by day, for bank reconciliation: read-only.

Card takings are expected as GOV.UK Pay pays them out. A Stripe-backed GOV.UK Pay service
pays each day's settled payments into the council's bank in one payout: their net amounts
(the amount less the PSP fee) less the refunds taken from that payout. A payment it has
captured but not yet settled is not expected yet. Services whose provider reports no fee and
no settled date (Worldpay), and card receipts that did not come through GOV.UK Pay, are
expected gross on the day they were captured (or received), as before.
"""

import datetime
from dataclasses import dataclass

from django.db import connection

from income.models import (
    CashUp,
    CashUpStatus,
    GovukPayConnection,
    MatchKind,
    StatementLine,
)
from income.money import format_pounds


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
