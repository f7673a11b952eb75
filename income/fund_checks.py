"""May this fund take this money? Every way in (counter, file, portal, phone) asks here."""

import datetime
from typing import Protocol

from income.models import Channel, Fund, OverpaymentHandling, ReferenceRule
from income.money import format_pounds as pounds


def fund_problems(
    fund: Fund,
    *,
    channel: Channel,
    amount_pence: int,
    received_on: datetime.date,
    reference: str,
) -> list[str]:
    """Why `fund` cannot take this payment, in words for the person taking it; empty if it can."""
    problems = []
    if not fund.is_active:
        problems.append(f"{fund.code} {fund.name} is disabled.")
    if fund.active_from and received_on < fund.active_from:
        problems.append(f"{fund.code} takes payments from {fund.active_from:%d %B %Y}.")
    if fund.active_to and received_on > fund.active_to:
        problems.append(f"{fund.code} stopped taking payments on {fund.active_to:%d %B %Y}.")
    allowed_channels = list(fund.channels.all())
    if allowed_channels and channel not in allowed_channels:
        problems.append(f"{fund.code} does not take payments by {channel.name}.")
    if amount_pence < fund.min_amount_pence:
        problems.append(f"{fund.code} takes at least {pounds(fund.min_amount_pence)}.")
    if (
        fund.max_amount_pence is not None
        and amount_pence > fund.max_amount_pence
        and fund.overpayment_handling == OverpaymentHandling.REFUSE
    ):
        problems.append(f"{fund.code} takes at most {pounds(fund.max_amount_pence)}.")
    reference_problem = fund_reference_problem(fund, reference)
    if reference_problem:
        problems.append(reference_problem)
    return problems


def fund_reference_problem(fund: Fund, reference: str) -> str | None:
    """Why `reference` is not a valid reference for `fund`, or None if it is. A wrong check
    digit is only "not valid", never what it should have been."""
    rule = fund.reference_rule
    if rule is None or not rule.is_active:
        return None
    outcome = rule.check_reference(reference)
    if outcome.valid:
        return None
    if not outcome.reason:
        return f"The reference for {fund.code} is not valid."
    return f"The reference for {fund.code} is not valid: {outcome.reason}"


def checked_rule(fund: Fund | None) -> ReferenceRule | None:
    """The rule a reference for `fund` is checked against now (None: none is), recorded on
    the posting that places money in the fund under that reference."""
    rule = fund.reference_rule if fund is not None else None
    return rule if rule is not None and rule.is_active else None


class HasMaximum(Protocol):
    """A fund, or what an import reads of one (income.imports.allocation.FundTerms)."""

    @property
    def max_amount_pence(self) -> int | None: ...

    @property
    def overpayment_handling(self) -> str: ...


def excess_over_maximum(fund: HasMaximum, amount_pence: int) -> int:
    """Pence above the fund's maximum that go to suspense rather than the fund."""
    if (
        fund.max_amount_pence is not None
        and amount_pence > fund.max_amount_pence
        and fund.overpayment_handling == OverpaymentHandling.SUSPENSE
    ):
        return amount_pence - fund.max_amount_pence
    return 0
