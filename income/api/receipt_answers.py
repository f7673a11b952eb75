"""A receipt as the API shows it: the summary a search lists, and the whole of one receipt
(where its money sits now, line by line with each line's reference, its ledger journals and
its refunds)."""

import datetime

from ninja import Schema

from income.balances import receipt_allocation_lines
from income.models import Fund, Receipt, Refund
from income.receipt_history import receipt_journals


class ReceiptSummary(Schema):
    number: str
    amount_pence: int
    received_on: datetime.date
    channel: str
    payer_reference: str
    payer_name: str
    narrative: str
    status: str
    recorded_at: datetime.datetime
    import_id: int | None


class AllocationOut(Schema):
    fund: str | None  # None: suspense
    fund_name: str
    reference: str
    amount_pence: int


class PostingOut(Schema):
    account: str
    amount_pence: int  # positive a debit, negative a credit
    reference: str
    booked_on: datetime.date


class JournalOut(Schema):
    id: int
    kind: str
    description: str
    created_at: datetime.datetime
    created_by: str
    reverses: int | None
    postings: list[PostingOut]


class RefundOut(Schema):
    id: int
    receipt: str
    fund: str | None
    reference: str
    amount_pence: int
    reason: str
    status: str
    route: str
    raised_by: str
    raised_at: datetime.datetime


class ReceiptDetail(ReceiptSummary):
    allocations: list[AllocationOut]
    journals: list[JournalOut]
    refunds: list[RefundOut]


def receipt_summary(receipt: Receipt) -> dict:
    return {
        "number": receipt.number,
        "amount_pence": receipt.amount_pence,
        "received_on": receipt.received_on,
        "channel": receipt.channel.code,
        "payer_reference": receipt.payer_reference,
        "payer_name": receipt.payer_name,
        "narrative": receipt.narrative,
        "status": receipt.status,
        "recorded_at": receipt.created_at,
        "import_id": receipt.import_batch_id,
    }


def refund_answer(refund: Refund) -> dict:
    return {
        "id": refund.pk,
        "receipt": refund.receipt.number,
        "fund": refund.fund.code if refund.fund else None,
        "reference": refund.reference,
        "amount_pence": refund.amount_pence,
        "reason": refund.reason,
        "status": refund.status,
        "route": refund.route,
        "raised_by": refund.raised_by_email,
        "raised_at": refund.raised_at,
    }


def receipt_detail(receipt: Receipt) -> dict:
    held = receipt_allocation_lines(receipt)
    funds = Fund.objects.in_bulk([line.fund_id for line in held if line.fund_id])
    allocations = [
        {
            "fund": funds[line.fund_id].code if line.fund_id else None,
            "fund_name": funds[line.fund_id].name if line.fund_id else "Suspense",
            "reference": line.reference,
            "amount_pence": pence,
        }
        for line, pence in held.items()
    ]
    journals = [
        {
            "id": journal.pk,
            "kind": journal.kind,
            "description": journal.description,
            "created_at": journal.created_at,
            "created_by": journal.created_by_email,
            "reverses": journal.reverses_id,
            # This receipt's postings (income.receipt_history.receipt_journals).
            "postings": [
                {
                    "account": posting.account.code,
                    "amount_pence": posting.amount_pence,
                    "reference": posting.effective_reference,
                    "booked_on": posting.booked_on,
                }
                for posting in journal.postings.all()
            ],
        }
        for journal in receipt_journals(receipt)
    ]
    refunds = receipt.refunds.select_related("fund", "receipt").order_by("raised_at", "id")
    return {
        **receipt_summary(receipt),
        "allocations": allocations,
        "journals": journals,
        "refunds": [refund_answer(refund) for refund in refunds],
    }
