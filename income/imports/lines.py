"""A file's good line on its way through an import: as the file gave it, then where the
import's rules and the funds' checks send it (income.imports.allocation)."""

import datetime
from dataclasses import dataclass
from typing import Any


class ImportLine:
    """One good line. `reference`, `channel_code` and `channel_id` are as read (what a held
    possible duplicate records); `posted_reference` and `posted_channel_id` are what the
    receipt is written with, after an import rule may have changed them."""

    __slots__ = (  # noqa: RUF023 - in the order a line gains them
        "line_number",
        "amount_pence",
        "received_on",
        "reference",
        "narrative",
        "payer_name",
        "channel_code",
        "channel_id",
        "line_key",
        # Where the funds' reference rules put the reference (or why nowhere).
        "reference_fund_id",
        "reference_reason",
        # The import rule that applied, if any (its fund may be None: the rule only rewrote).
        "rule_applied",
        "rule_fund_id",
        "posted_reference",
        "posted_channel_id",
        # The first rule Python could not decide (PostgreSQL decides it and those after).
        "undecided_rule",
        # The allocation: the fund (None: suspense, with the reason), the accounts posted to,
        # and what went to suspense beyond the fund's maximum.
        "fund_id",
        "fund_account_id",
        "clearing_account_id",
        "suspense_reason",
        "excess_pence",
        # Its receipt's number (drawn in the file's order).
        "number",
    )

    def __init__(
        self,
        line_number: int,
        amount_pence: int,
        received_on: datetime.date,
        reference: str,
        narrative: str,
        payer_name: str,
        channel_code: str,
        channel_id: int,
        line_key: str,
    ) -> None:
        self.line_number = line_number
        self.amount_pence = amount_pence
        self.received_on = received_on
        self.reference = reference
        self.narrative = narrative
        self.payer_name = payer_name
        self.channel_code = channel_code
        self.channel_id = channel_id
        self.line_key = line_key
        self.reference_fund_id: int | None = None
        self.reference_reason: str | None = None
        self.rule_applied = False
        self.rule_fund_id: int | None = None
        self.posted_reference = reference
        self.posted_channel_id = channel_id
        self.undecided_rule: int | None = None
        self.fund_id: int | None = None
        self.fund_account_id: int | None = None
        self.clearing_account_id = 0
        self.suspense_reason: str | None = None
        self.excess_pence = 0
        self.number = 0


@dataclass(frozen=True)
class LineChunk:
    """Consecutive good lines of the file, with how far into the file they reach."""

    lines: list[ImportLine]
    lines_read: int
    bytes_read: int
    # The channels and days of its lines (income.imports.duplicates asks of these).
    days: frozenset[tuple[str, datetime.date]] = frozenset()
    # Its rows as COPY text, if the reading thread could prepare them
    # (income.imports.ledger_writing.PreparedChunk).
    prepared: Any = None

    @property
    def rows(self) -> int:
        return len(self.lines)
