"""Suspense: the money waiting for a fund, oldest first with hints, and allocating it (the
screen's action, income.actions.suspense), once per Idempotency-Key."""

import datetime

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Path, Query, Router, Schema, Status

from income.actions.api_clients import acting_identity, answer_once
from income.actions.receipts import Allocation
from income.actions.suspense import allocate_from_suspense
from income.api.auth import ClientToken, calling
from income.api.errors import BODY_REFUSALS, INPUT_REFUSALS, ApiRefusal
from income.api.fields import FUND_CODE, MAX_PENCE, ONE_LINE, RECEIPT_NUMBER
from income.api.idempotency import as_json, key_header, replied, request_digest
from income.api.receipt_answers import ReceiptDetail, receipt_detail
from income.models import ApiScope, Fund, Receipt
from income.suspense_worklist import suspense_items

router = Router(tags=["suspense"], auth=ClientToken(ApiScope.SUSPENSE))


class SuspenseItemOut(Schema):
    receipt: str
    received_on: datetime.date
    amount_pence: int
    in_suspense_pence: int
    age_days: int
    payer_reference: str
    payer_name: str
    references: list[str]
    suggestions: list[str]


class FundLineIn(Schema):
    fund: str = Field(..., pattern=FUND_CODE)
    amount_pence: int = Field(..., ge=1, le=MAX_PENCE)
    reference: str = Field("", max_length=50, pattern=ONE_LINE)


class SuspenseAllocationIn(Schema):
    allocations: list[FundLineIn] = Field(..., min_length=1, max_length=10)
    note: str = Field(..., min_length=1, max_length=300, pattern=ONE_LINE)


class SuspenseAllocationOut(Schema):
    journal: int
    receipt: ReceiptDetail


@router.get("/suspense", response={200: list[SuspenseItemOut], **INPUT_REFUSALS})
def list_suspense(request: HttpRequest, limit: int = Query(200, ge=1, le=1000)) -> list[dict]:
    """Receipts with money in suspense, oldest first, with the references it waits under and
    hints (never decisions) about the fund it may belong to."""
    return [
        {
            "receipt": item.receipt.number,
            "received_on": item.receipt.received_on,
            "amount_pence": item.receipt.amount_pence,
            "in_suspense_pence": item.in_suspense_pence,
            "age_days": item.age_days,
            "payer_reference": item.receipt.payer_reference,
            "payer_name": item.receipt.payer_name,
            "references": item.references,
            "suggestions": item.suggestions,
        }
        for item in suspense_items(today=timezone.localdate(), limit=limit)
    ]


@router.post(
    "/suspense/{number}/allocations",
    response={201: SuspenseAllocationOut, **BODY_REFUSALS},
)
def allocate_from_suspense_money(
    request: HttpRequest,
    response: HttpResponse,
    payload: SuspenseAllocationIn,
    number: str = Path(..., pattern=RECEIPT_NUMBER),
    idempotency_key: str = key_header(),
) -> Status:
    """Move some or all of a receipt's suspense money to funds, each line checked against its
    fund's rule with its own reference, as on the screen."""
    caller = calling(request)

    def move() -> tuple[int, dict]:
        receipt = Receipt.objects.select_related("channel").filter(number=number.upper()).first()
        if receipt is None:
            raise ApiRefusal(404, f"There is no receipt {number}.")
        codes = {line.fund.upper() for line in payload.allocations}
        funds = {fund.code.upper(): fund for fund in Fund.objects.filter(code__in=codes)}
        if codes - set(funds):
            raise ApiRefusal(422, f"There is no fund {', '.join(sorted(codes - set(funds)))}.")
        journal = allocate_from_suspense(
            council=caller.council,
            receipt=receipt,
            allocations=[
                Allocation(funds[line.fund.upper()], line.amount_pence, line.reference.strip())
                for line in payload.allocations
            ],
            note=payload.note,
            acting_user=acting_identity(caller.client, caller.council),
        )
        answer = {"journal": journal.pk, "receipt": receipt_detail(receipt)}
        return 201, as_json(SuspenseAllocationOut, answer)

    answer = answer_once(
        client=caller.client,
        key=idempotency_key,
        operation="suspense.allocate",
        request_sha256=request_digest(payload, number.upper()),
        run=move,
    )
    return replied(answer, response)
