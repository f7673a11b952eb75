"""Funds and reference rules (any client may read them: they say where money may go), and
checking a reference against a fund's rule, which says why a reference is not valid but never
what its check digit should have been."""

import datetime

from django.http import HttpRequest
from ninja import Field, Path, Router, Schema

from income.api.auth import ClientToken
from income.api.errors import BODY_REFUSALS, INPUT_REFUSALS, REFUSALS, ApiRefusal
from income.api.fields import FUND_CODE, ONE_LINE
from income.fund_checks import fund_reference_problem
from income.models import Fund, ReferenceRule

router = Router(tags=["funds"], auth=ClientToken())


class FundOut(Schema):
    code: str
    name: str
    is_active: bool
    active_from: datetime.date | None
    active_to: datetime.date | None
    min_amount_pence: int
    max_amount_pence: int | None
    overpayment_handling: str
    refunds_allowed: bool
    channels: list[str]  # empty: every channel
    reference_rule: str | None
    ledger_code: str
    cost_centre: str
    vat_code: str | None


class ReferenceRuleOut(Schema):
    name: str
    description: str
    is_active: bool
    min_length: int | None
    max_length: int | None
    input_mask: str
    pattern: str
    # Which scheme, not its weights: the API checks references, it does not hand out the means
    # to make valid ones.
    check_digit_method: str


class ReferenceIn(Schema):
    reference: str = Field(..., max_length=60, pattern=ONE_LINE)


class ReferenceCheckOut(Schema):
    fund: str
    reference: str
    valid: bool
    message: str


def _fund_answer(fund: Fund) -> dict:
    return {
        "code": fund.code,
        "name": fund.name,
        "is_active": fund.is_active,
        "active_from": fund.active_from,
        "active_to": fund.active_to,
        "min_amount_pence": fund.min_amount_pence,
        "max_amount_pence": fund.max_amount_pence,
        "overpayment_handling": fund.overpayment_handling,
        "refunds_allowed": fund.refunds_allowed,
        "channels": sorted(channel.code for channel in fund.channels.all()),
        "reference_rule": fund.reference_rule.name if fund.reference_rule else None,
        "ledger_code": fund.ledger_code,
        "cost_centre": fund.cost_centre,
        "vat_code": fund.vat_code.code if fund.vat_code else None,
    }


def _funds():
    return Fund.objects.select_related("reference_rule", "vat_code").prefetch_related("channels")


def _fund(code: str) -> Fund:
    fund = _funds().filter(code__iexact=code).first()
    if fund is None:
        raise ApiRefusal(404, f"There is no fund {code}.")
    return fund


@router.get("/funds", response={200: list[FundOut], **REFUSALS})
def list_funds(request: HttpRequest) -> list[dict]:
    return [_fund_answer(fund) for fund in _funds().order_by("code")]


@router.get("/funds/{code}", response={200: FundOut, **INPUT_REFUSALS})
def read_fund(request: HttpRequest, code: str = Path(..., pattern=FUND_CODE)) -> dict:
    return _fund_answer(_fund(code))


@router.post("/funds/{code}/check-reference", response={200: ReferenceCheckOut, **BODY_REFUSALS})
def check_reference(
    request: HttpRequest, payload: ReferenceIn, code: str = Path(..., pattern=FUND_CODE)
) -> dict:
    """Whether the fund takes `reference` (its rule's length, mask, pattern and check digit).
    A wrong check digit is only "not valid": never which digit would be right."""
    fund = _fund(code)
    problem = fund_reference_problem(fund, payload.reference)
    return {
        "fund": fund.code,
        "reference": payload.reference,
        "valid": problem is None,
        "message": problem or f"A valid reference for {fund.code}.",
    }


@router.get("/reference-rules", response={200: list[ReferenceRuleOut], **REFUSALS})
def list_reference_rules(request: HttpRequest) -> list[dict]:
    return [
        {
            "name": rule.name,
            "description": rule.description,
            "is_active": rule.is_active,
            "min_length": rule.min_length,
            "max_length": rule.max_length,
            "input_mask": rule.input_mask,
            "pattern": rule.pattern,
            "check_digit_method": rule.check_digit_method,
        }
        for rule in ReferenceRule.objects.order_by("name")
    ]
