"""Finding receipts (the screen's search, with cursor pagination) and reading one."""

import datetime

from django.db.models import Q
from django.db.models.functions import Upper
from django.http import HttpRequest
from ninja import Field, Path, Query, Router, Schema

from income.api.auth import ClientToken
from income.api.errors import INPUT_REFUSALS, ApiRefusal
from income.api.fields import CHANNEL_CODE, FUND_CODE, MAX_PENCE, ONE_LINE, RECEIPT_NUMBER
from income.api.receipt_answers import (
    ReceiptDetail,
    ReceiptSummary,
    receipt_detail,
    receipt_summary,
)
from income.models import ApiScope, Channel, Fund, Receipt, ReceiptStatus
from income.receipt_search import MIN_FRAGMENT, Cursor, ReceiptQuery, matching_receipts

router = Router(tags=["receipts"], auth=ClientToken(ApiScope.RECEIPTS_READ))
CURSOR = r"^\d{4}-\d{2}-\d{2}\.\d{1,18}$"


class ReceiptFilters(Schema):
    reference: str = Field(
        "", max_length=51, pattern=ONE_LINE,
        description="The payer's reference or any line's, exact or a prefix ending in *",
    )  # fmt: skip
    payer_reference: str = Field(
        "", max_length=50, pattern=ONE_LINE, description="The payer's reference only, exact"
    )
    payer: str = Field("", max_length=100, pattern=ONE_LINE, description="Part of the name")
    fund: str = Field("", max_length=5, pattern=rf"{FUND_CODE}|^$", description="A fund code")
    channel: str = Field("", max_length=20, pattern=rf"{CHANNEL_CODE}|^$")
    status: ReceiptStatus | None = None
    amount_pence: int | None = Field(None, ge=1, le=MAX_PENCE)
    received_from: datetime.date | None = None
    received_to: datetime.date | None = None
    after: str = Field("", pattern=rf"{CURSOR}|^$", description="next_cursor of the last page")
    limit: int = Field(50, ge=1, le=200)


class ReceiptPage(Schema):
    results: list[ReceiptSummary]
    next_cursor: str | None


def _query(filters: ReceiptFilters) -> ReceiptQuery:
    payer = filters.payer.strip()
    if payer and len(payer) < MIN_FRAGMENT:
        raise ApiRefusal(422, f"Give at least {MIN_FRAGMENT} letters of the payer's name.")
    start, end = filters.received_from, filters.received_to
    if start and end and end < start:
        raise ApiRefusal(422, "received_to must be on or after received_from.")
    fund = channel = None
    if filters.fund:
        fund = Fund.objects.filter(code__iexact=filters.fund).first()
        if fund is None:
            raise ApiRefusal(422, f"There is no fund {filters.fund}.")
    if filters.channel:
        channel = Channel.objects.filter(code__iexact=filters.channel).first()
        if channel is None:
            raise ApiRefusal(422, f"There is no channel {filters.channel}.")
    return ReceiptQuery(
        reference=filters.reference.strip(),
        payer=payer,
        amount_pence=filters.amount_pence,
        received_from=start,
        received_to=end,
        fund=fund,
        channel=channel,
        status=filters.status.value if filters.status else "",
    )


@router.get("/receipts", response={200: ReceiptPage, **INPUT_REFUSALS}, url_name="receipts")
def search_receipts(request: HttpRequest, filters: Query[ReceiptFilters]) -> dict:
    """Receipts newest first (by date received), a page at a time: pass `next_cursor` back as
    `after` for the next page. Every filter is optional; they combine."""
    receipts = matching_receipts(_query(filters))
    if filters.payer_reference.strip():
        receipts = receipts.alias(payer_reference_upper=Upper("payer_reference")).filter(
            payer_reference_upper=filters.payer_reference.strip().upper()
        )
    if filters.after:
        after = Cursor.decode(filters.after)
        if after is None:
            raise ApiRefusal(422, "That cursor is not one this API gave: start again.")
        receipts = receipts.filter(
            Q(received_on__lt=after.received_on) | Q(received_on=after.received_on, id__lt=after.id)
        )
    page = list(receipts.order_by("-received_on", "-id")[: filters.limit + 1])
    next_cursor = None
    if len(page) > filters.limit:
        page = page[: filters.limit]
        next_cursor = Cursor(page[-1].received_on, page[-1].pk).encode()
    return {"results": [receipt_summary(r) for r in page], "next_cursor": next_cursor}


@router.get("/receipts/{number}", response={200: ReceiptDetail, **INPUT_REFUSALS})
def read_receipt(request: HttpRequest, number: str = Path(..., pattern=RECEIPT_NUMBER)) -> dict:
    """One receipt: where its money sits now (each line with its own reference), its ledger
    journals and its refunds."""
    receipt = Receipt.objects.select_related("channel").filter(number=number.upper()).first()
    if receipt is None:
        raise ApiRefusal(404, f"There is no receipt {number}.")
    return receipt_detail(receipt)
