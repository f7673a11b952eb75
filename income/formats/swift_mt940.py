"""SWIFT MT940 customer statements, parsed with the maintained `mt-940` package.

Each `:61:` statement line is one line of the import, numbered by its line in the file; its
`:86:` details are the narrative, and the customer reference (or else the first word of the
details) the payer's reference. The debit/credit mark keeps its meaning: a credit (`C`) and
a reversal of a debit (`RD`) are money in; a debit (`D`) and a reversal of a credit (`RC`)
take money back. GBP only.

A line's identity is its date, amount and bank reference (`//...`), or without one its
customer reference and details. The file's `FileTotals` name each statement (`:20:` with
`:28C:`) and check it: its opening balance (`:60F:`/`:60M:`) plus its `:61:` lines must be
its closing balance (`:62F:`/`:62M:`), and a statement cut off (no closing balance, or a
`:61:` line that cannot be read) is a problem: the file is held, not imported.
"""

import datetime
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import BinaryIO

import mt940

from income.formats.records import (
    ChannelSpec,
    FileRefused,
    FileTotals,
    PaymentRecord,
    ReadOptions,
    RejectedLine,
    check_not_empty,
    check_not_utf16,
    clean_text,
    pence_text,
    shown,
)

NAME = "mt940"
TITLE = "SWIFT MT940 bank statement"
FIELDS = ("reference", "amount", "narrative", "date")
NEEDS_MAPPING = False
CHANNELS = (ChannelSpec("BANK", "Bank transfer", "bank_transfer"),)


def looks_like(head: bytes) -> bool:
    return b":20:" in head and (b":60F:" in head or b":60M:" in head or b":61:" in head)


MAX_STATEMENT_BYTES = 20 * 1024 * 1024


_BALANCE = re.compile(r":6([02])([FM]):([CD])(\d{6})([A-Z]{3})(\d[\d,]*)", re.IGNORECASE)
_FIELD = re.compile(r":(\d\d[A-Z]?|NS):")


def read(stream: BinaryIO, *, options: ReadOptions | None = None) -> Iterator:
    content = stream.read(MAX_STATEMENT_BYTES + 1)
    if len(content) > MAX_STATEMENT_BYTES:
        raise FileRefused("An MT940 statement is at most 20 MB; this file is larger.")
    check_not_empty(content)
    check_not_utf16(content[:4096])
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        text = content.decode("latin-1")
    if ":61:" not in text and ":20:" not in text:
        raise FileRefused("The file has no MT940 statement lines (:20:, :61:): it is not MT940.")
    lines = text.splitlines()
    statements = _statements(lines)
    if not any(statement.statement_lines for statement in statements):
        raise FileRefused("The statement has no transactions (:61: lines).")
    problems: list[str] = []
    for statement in statements:
        parsed = statement.parse()
        if statement.currency and statement.currency != "GBP":
            raise FileRefused(
                f"The statement is for an account in {statement.currency}; Counterfoil takes "
                "pounds sterling (GBP) only."
            )
        for (number, line), data in zip(statement.statement_lines, parsed, strict=True):
            if data is None:
                statement.unreadable += 1
                yield RejectedLine(number, shown(line), "this :61: line could not be read")
                continue
            outcome = _transaction(number, line, data)
            pence = _signed_pence(data)
            if pence is None:
                statement.unreadable += 1
            else:
                statement.movement_pence += pence
            yield outcome
        problems += statement.problems()
    named = ", ".join(statement.name for statement in statements if statement.name)
    yield FileTotals(statement_id=named, problems=problems)


class _Statement:
    """One statement of the file (from its `:20:` to the next), read on its own."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.statement_lines: list[tuple[int, str]] = []
        self.reference = self.number = self.currency = ""
        self.balances: dict[str, int] = {}
        self.movement_pence = 0
        self.unreadable = 0

    @property
    def name(self) -> str:
        return f"{self.reference}/{self.number}" if self.number else self.reference

    def add(self, number: int, line: str) -> None:
        self.lines.append(line)
        if line.startswith(":61:"):
            self.statement_lines.append((number, line))
        elif line.startswith(":20:") and not self.reference:
            self.reference = line[4:].strip()
        elif line.startswith(":28C:") and not self.number:
            self.number = line[5:].strip()
        elif (balance := _BALANCE.match(line.strip())) is not None:
            kind, _final, mark, _day, currency, amount = balance.groups()
            pence = _balance_pence(amount)
            if pence is not None:
                key = "opening" if kind == "0" else "closing"
                self.balances.setdefault(key, pence if mark.upper() == "C" else -pence)
                self.currency = self.currency or currency.upper()

    def parse(self) -> list[dict | None]:
        """Each :61: line's data (None where it cannot be read). The statement is parsed
        whole; if that fails (a damaged or cut-off line), each :61: with its details alone
        after the statement's header, so one bad line costs only itself."""
        parsed = _parsed_or_none("\n".join(self.lines))
        if parsed is not None and len(parsed) == len(self.statement_lines):
            return parsed
        starts = [i for i, line in enumerate(self.lines) if line.startswith(":61:")]
        header = self.lines[: starts[0]] if starts else self.lines
        found: list[dict | None] = []
        for position, start in enumerate(starts):
            block = [self.lines[start]]
            for line in self.lines[
                start + 1 : starts[position + 1] if position + 1 < len(starts) else None
            ]:
                field = _FIELD.match(line)
                if field is not None and field.group(1) not in {"86", "NS"}:
                    break
                block.append(line)
            one = _parsed_or_none("\n".join(header + block))
            found.append(one[0] if one is not None and len(one) == 1 else None)
        return found

    def problems(self) -> list[str]:
        name = f"Statement {self.name}" if self.name else "The statement"
        found = []
        unread = (
            f" ({self.unreadable:,} :61: line{'s' if self.unreadable != 1 else ''} that could "
            "not be read not counted)"
            if self.unreadable
            else ""
        )
        if "opening" not in self.balances:
            found.append(
                f"{name} has no opening balance (:60F: or :60M:), so it cannot be checked: "
                f"the file may be damaged. Its :61: lines add up to "
                f"{pence_text(self.movement_pence)}{unread}."
            )
        if "closing" not in self.balances:
            found.append(
                f"{name} has no closing balance (:62F: or :62M:): the file may be cut off. Its "
                f":61: lines add up to {pence_text(self.movement_pence)}{unread}."
            )
        if found:
            return found
        opening, closing = self.balances["opening"], self.balances["closing"]
        if opening + self.movement_pence == closing and not self.unreadable:
            return []
        return [
            f"{name}: the opening balance {pence_text(opening)} and the :61: lines "
            f"({pence_text(self.movement_pence)}{unread}) come to "
            f"{pence_text(opening + self.movement_pence)}, but the closing balance is "
            f"{pence_text(closing)}."
        ]


def _statements(lines: list[str]) -> list[_Statement]:
    statements: list[_Statement] = []
    for number, line in enumerate(lines, start=1):
        if not statements or (line.startswith(":20:") and statements[-1].reference):
            statements.append(_Statement())
        statements[-1].add(number, line)
    return statements


def _parsed_or_none(text: str) -> list[dict] | None:
    """Each transaction's data, or None if the parser cannot read the text."""
    transactions = mt940.models.Transactions()
    try:
        transactions.parse(text)
    except Exception:  # the parser's own errors are many and undocumented
        return None
    return [transaction.data for transaction in transactions]


def _balance_pence(amount: str) -> int | None:
    whole, _, part = amount.partition(",")
    if not whole.isdigit() or len(part) > 2 or (part and not part.isdigit()):
        return None
    return int(whole) * 100 + int(part.ljust(2, "0"))


def _signed_pence(data: dict) -> int | None:
    """The line's amount, signed by its mark: C and RD in, D and RC out."""
    value = getattr(data.get("amount"), "amount", None)
    if not isinstance(value, Decimal) or value != value.quantize(Decimal("0.01")):
        return None
    pence = int(abs(value) * 100)
    mark = str(data.get("status") or "").upper()
    return -pence if mark in {"D", "RC"} else pence


def _transaction(number: int, line: str, data: dict) -> PaymentRecord | RejectedLine:
    raw = shown(line)
    amount = data.get("amount")
    currency = (getattr(amount, "currency", "") or data.get("currency") or "").upper()
    if currency and currency != "GBP":
        return RejectedLine(
            number, raw, f"the amount is in {currency}; Counterfoil takes pounds sterling only"
        )
    value = getattr(amount, "amount", None)
    if not isinstance(value, Decimal) or value != value.quantize(Decimal("0.01")):
        return RejectedLine(number, raw, "the amount is not pounds and pence")
    if value == 0:
        return RejectedLine(number, raw, "the amount is zero")
    day = data.get("entry_date") or data.get("date")
    if not isinstance(day, datetime.date):
        return RejectedLine(number, raw, "the statement line has no readable date")
    details = clean_text(str(data.get("transaction_details") or ""), 300)
    reference = str(data.get("customer_reference") or "").strip()
    if not reference or reference.upper() == "NONREF":
        reference = details.split()[0] if details.split() else ""
    status = str(data.get("status") or "").upper()
    narrative = f"Reversal: {details}" if status.startswith("R") else details
    pence = _signed_pence(data) or 0
    received_on = datetime.date(day.year, day.month, day.day)
    bank_reference = str(data.get("bank_reference") or "").strip()
    identity = (
        f"mt940:{received_on.isoformat()}:{pence}:{bank_reference}"
        if bank_reference
        else f"mt940:{received_on.isoformat()}:{pence}:{reference}:{details}"
    )
    return PaymentRecord(
        line_number=number,
        amount_pence=pence,
        received_on=received_on,
        reference=clean_text(reference, 50),
        narrative=narrative,
        channel_code="BANK",
        identity=identity,
    )
