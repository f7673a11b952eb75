"""Where each line of an import goes, decided in Python as the file is read:

1. import rules, in order (income.imports.rule_matching; the first that matches applies);
2. funds' reference rules (income.imports.reference_matching), again for a line whose
   reference an import rule rewrote without naming a fund;
3. the fund's own checks (disabled, dates, channel, minimum, maximum): a line that fails one
   goes to suspense with the reason, and the part of a payment above a fund's maximum goes to
   suspense where the fund says so.

Nothing here touches the database: the funds, rules and accounts are read once per import
(`LineAllocator.for_import`), so the file's reading thread allocates each line it reads.
"""

import datetime
from dataclasses import dataclass

from income.accounts import clearing_account, fund_account, suspense_account
from income.fund_checks import excess_over_maximum
from income.imports.lines import ImportLine
from income.imports.reference_matching import FundMatcher
from income.imports.rule_matching import RuleMatcher
from income.models import Channel, Fund, ImportRule, OverpaymentHandling
from income.money import format_pounds

MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip


def _day(day: datetime.date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


@dataclass(frozen=True)
class FundTerms:
    """What a fund accepts, read once per import."""

    id: int
    account_id: int
    code: str
    name: str
    is_active: bool
    active_from: datetime.date | None
    active_to: datetime.date | None
    min_amount_pence: int
    max_amount_pence: int | None
    overpayment_handling: str
    # The channels it takes payments by; empty for any.
    channel_ids: frozenset[int]

    @classmethod
    def of(cls, fund: Fund) -> "FundTerms":
        return cls(
            id=fund.pk,
            account_id=fund_account(fund).pk,
            code=fund.code,
            name=fund.name,
            is_active=fund.is_active,
            active_from=fund.active_from,
            active_to=fund.active_to,
            min_amount_pence=fund.min_amount_pence,
            max_amount_pence=fund.max_amount_pence,
            overpayment_handling=fund.overpayment_handling,
            channel_ids=frozenset(channel.pk for channel in fund.channels.all()),
        )

    def refusal(self, line: ImportLine, channel_name: str) -> str | None:
        """Why the fund does not take the line's money (money coming in), or None."""
        code = self.code
        if not self.is_active:
            return f"{code} {self.name} is disabled"
        if self.active_from is not None and line.received_on < self.active_from:
            return f"{code} takes payments from {_day(self.active_from)}"
        if self.active_to is not None and line.received_on > self.active_to:
            return f"{code} stopped taking payments on {_day(self.active_to)}"
        if self.channel_ids and line.posted_channel_id not in self.channel_ids:
            return f"{code} does not take payments by {channel_name}"
        if line.amount_pence < self.min_amount_pence:
            return f"{code} takes at least {format_pounds(self.min_amount_pence)}"
        if (
            self.max_amount_pence is not None
            and line.amount_pence > self.max_amount_pence
            and self.overpayment_handling == OverpaymentHandling.REFUSE
        ):
            return f"{code} takes at most {format_pounds(self.max_amount_pence)}"
        return None

    def excess(self, amount_pence: int) -> int:
        """The part of a payment above the maximum that goes to suspense (the fund says so)."""
        return excess_over_maximum(self, amount_pence)


class LineAllocator:
    """Allocates an import's lines by the council's funds, rules and accounts as they were
    when the import started."""

    def __init__(
        self,
        *,
        funds: list[FundTerms],
        rules: RuleMatcher,
        matcher: FundMatcher,
        clearing_accounts: dict[int, int],
        channel_names: dict[int, str],
        suspense_account_id: int,
    ) -> None:
        self.funds = {fund.id: fund for fund in funds}
        self.rules = rules
        self.matcher = matcher
        self.clearing_accounts = clearing_accounts
        self.channel_names = channel_names
        self.suspense_account_id = suspense_account_id

    @classmethod
    def for_import(
        cls, channels: list[Channel], rules: list[ImportRule], *, rules_in_python: bool = True
    ) -> "LineAllocator":
        """The council's funds (with their accounts), the active rules and the clearing
        accounts of `channels` and of the channels the rules move lines to."""
        funds = list(Fund.objects.select_related("reference_rule").prefetch_related("channels"))
        every_channel = {channel.pk: channel for channel in channels}
        for rule in rules:
            if rule.set_channel is not None:
                every_channel[rule.set_channel.pk] = rule.set_channel
        return cls(
            funds=[FundTerms.of(fund) for fund in funds],
            rules=RuleMatcher(rules, decide_in_python=rules_in_python),
            matcher=FundMatcher(funds),
            clearing_accounts={pk: clearing_account(c).pk for pk, c in every_channel.items()},
            channel_names={pk: channel.name for pk, channel in every_channel.items()},
            suspense_account_id=suspense_account().pk,
        )

    def allocate(self, line: ImportLine) -> None:
        """Match the line's reference, apply the rules and the fund's checks. A line whose
        rules PostgreSQL must decide is left for `settle` (its `undecided_rule` is set)."""
        line.reference_fund_id, line.reference_reason = self.matcher.match(line.reference)
        self.rules.apply(line)
        if line.undecided_rule is None:
            self._place(line)

    def settle(self, cursor: object, lines: list[ImportLine]) -> None:
        """Decide in PostgreSQL the rules Python could not, then place those lines."""
        for line in self.rules.settle_in_sql(cursor, lines):
            self._place(line)

    def _place(self, line: ImportLine) -> None:
        if (
            line.rule_applied
            and line.rule_fund_id is None
            and line.posted_reference != line.reference
        ):
            # A rule rewrote the reference and named no fund: the new reference decides.
            line.reference_fund_id, line.reference_reason = self.matcher.match(
                line.posted_reference
            )
        try:
            line.clearing_account_id = self.clearing_accounts[line.posted_channel_id]
        except KeyError:
            raise RuntimeError(
                f"line {line.line_number}: channel {line.posted_channel_id} has no clearing account"
            ) from None
        fund_id = line.rule_fund_id if line.rule_fund_id is not None else line.reference_fund_id
        fund = self.funds.get(fund_id) if fund_id is not None else None
        if fund is None:
            line.fund_id = line.fund_account_id = None
            line.suspense_reason = line.reference_reason or "no rule matched the line"
            line.excess_pence = 0
            return
        line.fund_id = fund.id
        line.fund_account_id = fund.account_id
        if line.amount_pence < 0:
            line.suspense_reason = None
        else:
            line.suspense_reason = fund.refusal(line, self.channel_names[line.posted_channel_id])
        line.excess_pence = fund.excess(line.amount_pence)
