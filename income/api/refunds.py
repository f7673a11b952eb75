"""Raising refunds (income.actions.refunds.raise_refund), once per Idempotency-Key, and
following them. Approving stays a person's act on the screen: a client can never approve."""

from django.http import HttpRequest, HttpResponse
from ninja import Field, Path, Router, Schema, Status

from income.actions.api_clients import acting_identity, answer_once
from income.actions.refunds import raise_refund
from income.api.auth import ClientToken, calling
from income.api.errors import BODY_REFUSALS, INPUT_REFUSALS, ApiRefusal
from income.api.fields import FUND_CODE, MAX_ID, MAX_PENCE, ONE_LINE, RECEIPT_NUMBER
from income.api.idempotency import as_json, key_header, replied, request_digest
from income.api.receipt_answers import RefundOut, refund_answer
from income.models import ApiScope, Fund, Receipt, Refund

router = Router(tags=["refunds"], auth=ClientToken(ApiScope.REFUNDS))


class RefundIn(Schema):
    receipt: str = Field(..., pattern=RECEIPT_NUMBER)
    fund: str | None = Field(None, pattern=FUND_CODE, description="null: from suspense")
    reference: str | None = Field(
        None, max_length=50, pattern=ONE_LINE,
        description="Which line's reference, when the fund holds the receipt's money for more "
        "than one",
    )  # fmt: skip
    amount_pence: int = Field(..., ge=1, le=MAX_PENCE)
    reason: str = Field(..., min_length=1, max_length=500, pattern=ONE_LINE)


@router.post("/refunds", response={201: RefundOut, **BODY_REFUSALS})
def raise_a_refund(
    request: HttpRequest,
    response: HttpResponse,
    payload: RefundIn,
    idempotency_key: str = key_header(),
) -> Status:
    """Ask for money to go back. It waits for a person at the council to approve it on the
    screen (someone other than whoever raised it); follow it at /refunds/{id}."""
    caller = calling(request)

    def ask() -> tuple[int, dict]:
        receipt = Receipt.objects.filter(number=payload.receipt.upper()).first()
        if receipt is None:
            raise ApiRefusal(422, f"There is no receipt {payload.receipt}.")
        fund = None
        if payload.fund:
            fund = Fund.objects.filter(code__iexact=payload.fund).first()
            if fund is None:
                raise ApiRefusal(422, f"There is no fund {payload.fund}.")
        refund = raise_refund(
            council=caller.council,
            receipt=receipt,
            fund=fund,
            amount_pence=payload.amount_pence,
            reason=payload.reason,
            reference=payload.reference,
            acting_user=acting_identity(caller.client, caller.council),
        )
        return 201, as_json(RefundOut, refund_answer(refund))

    answer = answer_once(
        client=caller.client,
        key=idempotency_key,
        operation="refunds.raise",
        request_sha256=request_digest(payload),
        run=ask,
    )
    return replied(answer, response)


@router.get("/refunds/{refund_id}", response={200: RefundOut, **INPUT_REFUSALS})
def read_refund(request: HttpRequest, refund_id: int = Path(..., ge=1, le=MAX_ID)) -> dict:
    refund = Refund.objects.select_related("receipt", "fund").filter(pk=refund_id).first()
    if refund is None:
        raise ApiRefusal(404, f"There is no refund {refund_id}.")
    return refund_answer(refund)
