"""Recording a receipt for money a council's own system took elsewhere (a housing system's
payment provider, a kiosk): the screen's checks (income.actions.receipts.record_receipt),
once per Idempotency-Key."""

import datetime

from django.http import HttpRequest, HttpResponse
from ninja import Field, Schema, Status

from income.actions.api_clients import acting_identity, answer_once
from income.actions.receipts import Allocation, record_receipt
from income.api.auth import ClientToken, calling
from income.api.errors import BODY_REFUSALS, ApiRefusal
from income.api.fields import CHANNEL_CODE, FUND_CODE, MAX_PENCE, ONE_LINE
from income.api.idempotency import as_json, key_header, replied, request_digest
from income.api.receipt_answers import ReceiptDetail, receipt_detail
from income.api.receipts_read import router
from income.models import ApiScope, Channel, ChannelKind, Fund

# One router for /receipts: GET (search) and POST (record) share the path.
MAX_LINES = 10  # as the counter screen's "Add another fund"


class AllocationIn(Schema):
    fund: str | None = Field(None, pattern=FUND_CODE, description="A fund code; null: suspense")
    amount_pence: int = Field(..., ge=1, le=MAX_PENCE)
    reference: str = Field(
        "", max_length=50, pattern=ONE_LINE, description="This line's account reference"
    )


class ReceiptIn(Schema):
    channel: str = Field(..., pattern=CHANNEL_CODE, description="How the money came (a code)")
    amount_pence: int = Field(..., ge=1, le=MAX_PENCE)
    received_on: datetime.date
    payer_reference: str = Field("", max_length=50, pattern=ONE_LINE)
    payer_name: str = Field("", max_length=200, pattern=ONE_LINE)
    narrative: str = Field("", max_length=300, pattern=ONE_LINE)
    allocations: list[AllocationIn] = Field(..., min_length=1, max_length=MAX_LINES)


def _channel(code: str) -> Channel:
    channel = Channel.objects.filter(code__iexact=code).first()
    if channel is None:
        raise ApiRefusal(422, f"There is no channel {code}.")
    if channel.taken_by_staff:
        raise ApiRefusal(
            422, f"{channel.name} is taken at the counter and counted in a cash-up, not sent "
            "through the API.",
        )  # fmt: skip
    if channel.kind == ChannelKind.CARD:
        raise ApiRefusal(422, f"{channel.name} payments come from GOV.UK Pay itself.")
    return channel


def _allocations(lines: list[AllocationIn]) -> list[Allocation]:
    codes = {line.fund.upper() for line in lines if line.fund}
    funds = {fund.code.upper(): fund for fund in Fund.objects.filter(code__in=codes)}
    unknown = sorted(codes - set(funds))
    if unknown:
        raise ApiRefusal(422, f"There is no fund {', '.join(unknown)}.")
    return [
        Allocation(funds[line.fund.upper()] if line.fund else None, line.amount_pence,
                   line.reference.strip())
        for line in lines
    ]  # fmt: skip


@router.post(
    "/receipts",
    response={201: ReceiptDetail, **BODY_REFUSALS},
    auth=ClientToken(ApiScope.RECEIPTS_WRITE),
)
def create_receipt(
    request: HttpRequest,
    response: HttpResponse,
    payload: ReceiptIn,
    idempotency_key: str = key_header(),
) -> Status:
    """Record a payment taken elsewhere, allocated in full to funds (or to suspense: a null
    fund), each line checked against its fund's rules as at the counter. Repeating the
    request with the same Idempotency-Key returns the first answer (with
    `Idempotent-Replayed: true`); the same key with a different body is refused (422)."""
    caller = calling(request)

    def record() -> tuple[int, dict]:
        allocations = _allocations(payload.allocations)
        recorded = record_receipt(
            channel=_channel(payload.channel),
            amount_pence=payload.amount_pence,
            received_on=payload.received_on,
            allocations=allocations,
            idempotency_key=f"api:{caller.client.pk}:{idempotency_key}",
            acting_user=acting_identity(caller.client, caller.council),
            payer_reference=payload.payer_reference.strip() or allocations[0].reference,
            payer_name=payload.payer_name,
            narrative=payload.narrative,
        )
        return 201, as_json(ReceiptDetail, receipt_detail(recorded.receipt))

    answer = answer_once(
        client=caller.client,
        key=idempotency_key,
        operation="receipts.create",
        request_sha256=request_digest(payload),
        run=record,
    )
    return replied(answer, response)
