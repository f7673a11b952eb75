"""SWIFT MT940 customer statements, parsed with the maintained `mt-940` package.

Each `:61:` statement line is one line of the import, numbered by its line in the file; its
`:86:` details are the narrative, and the customer reference (or else the first word of the
details) the payer's reference. Credits are money in; debits and reversals of credits take
money back; a reversal of a debit (`RD`) is money in. GBP only.
"""

import datetime
from collections.abc import Iterator
from decimal import Decimal
from typing import BinaryIO

import mt940

from income.formats.records import (
    ChannelSpec,
    FileRefused,
    PaymentRecord,
    ReadOptions,
    RejectedLine,
    check_not_empty,
    check_not_utf16,
    clean_text,
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
    statement_lines = [
        (number, line)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.startswith(":61:")
    ]
    try:
        transactions = mt940.models.Transactions()
        transactions.parse(text)
        parsed = list(transactions)
        statement_currency = _statement_currency(transactions)
    except FileRefused:
        raise
    except Exception as error:  # the parser's own errors are many and undocumented
        raise FileRefused(
            f"The MT940 statement could not be read ({type(error).__name__}: {error}). It may "
            "be truncated or damaged."
        ) from error
    if not parsed:
        raise FileRefused("The statement has no transactions (:61: lines).")
    if statement_currency and statement_currency != "GBP":
        raise FileRefused(
            f"The statement is for an account in {statement_currency}; Counterfoil takes "
            "pounds sterling (GBP) only."
        )
    for index, transaction in enumerate(parsed):
        number, line = statement_lines[index] if index < len(statement_lines) else (index + 1, "")
        yield _transaction(number, line, transaction.data)
    if len(statement_lines) > len(parsed):
        for number, line in statement_lines[len(parsed) :]:
            yield RejectedLine(number, shown(line), "this :61: line could not be read")


def _statement_currency(transactions: "mt940.models.Transactions") -> str:
    for key in ("final_opening_balance", "opening_balance", "intermediate_opening_balance"):
        balance = transactions.data.get(key)
        if balance is not None:
            return getattr(balance.amount, "currency", "") or ""
    return ""


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
    status = str(data.get("status") or "")
    narrative = f"Reversal: {details}" if status.startswith("R") else details
    return PaymentRecord(
        line_number=number,
        amount_pence=int(value * 100),
        received_on=datetime.date(day.year, day.month, day.day),
        reference=clean_text(reference, 50),
        narrative=narrative,
        channel_code="BANK",
    )
