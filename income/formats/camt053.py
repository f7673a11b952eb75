"""ISO 20022 camt.053 bank-to-customer statements (any version 001.02 to 001.08+).

Parsed as a stream with defusedxml: a document type declaration (and so any entity, an
"XML bomb" or an external entity reaching for a file or URL) refuses the whole file. Credits
are money in; debits (including a reversal of an earlier credit, `<RvslInd>true`) take money
back. GBP only.

Each payment is a line, numbered from 1 in the file's order. An `<Ntry>` is one payment,
unless its `<NtryDtls>` hold several `<TxDtls>` (a batch of payments booked as one entry):
then each `<TxDtls>` is a line of its own, with its own reference, payer and amount. Their
amounts must add up to the entry's; if they do not (or one has no amount), the entry is one
rejected line saying both sums and none of its payments is imported: which payer paid what
cannot be known, and the rest of the statement can still be trusted. (A reconciliation reads
each entry as one line, at the entry's amount: `ReadOptions.one_line_per_entry`.)

A line's identity is the entry's bank reference (`AcctSvcrRef`, else `NtryRef`) with its
payment's own (`TxDtls/Refs`) or place in the entry. The file's `FileTotals` name the
statement (`GrpHdr/MsgId` with `Stmt/Id`) and check it: each statement's opening booked
balance plus its booked entries must be its closing booked balance.
"""

import datetime
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import BinaryIO

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from income.formats.records import (
    ChannelSpec,
    FileRefused,
    FileTotals,
    PaymentRecord,
    ReadOptions,
    RejectedLine,
    check_not_empty,
    clean_text,
    pence_text,
    shown,
)

NAME = "camt053"
TITLE = "ISO 20022 camt.053 bank statement (XML)"
FIELDS = ("reference", "amount", "narrative", "payer_name", "date")
NEEDS_MAPPING = False
CHANNELS = (ChannelSpec("BANK", "Bank transfer", "bank_transfer"),)


def looks_like(head: bytes) -> bool:
    return b"camt.053" in head or (b"<Document" in head and b"BkToCstmrStmt" in head)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find(element: ET.Element, *path: str) -> ET.Element | None:
    """The first descendant following `path` by local names, whatever the namespace."""
    current = [element]
    for name in path:
        current = [child for parent in current for child in parent if _local(child.tag) == name]
        if not current:
            return None
    return current[0]


def _text(element: ET.Element, *path: str) -> str:
    found = _find(element, *path)
    return (found.text or "").strip() if found is not None else ""


def _children(element: ET.Element, name: str) -> list[ET.Element]:
    return [child for child in element if _local(child.tag) == name]


class _Statement:
    """One `<Stmt>`'s entries, added up for its balance check."""

    def __init__(self) -> None:
        self.booked_pence = 0
        self.unreadable = 0

    def count(self, entry: ET.Element) -> None:
        status = _text(entry, "Sts") or _text(entry, "Sts", "Cd")
        if status and status != "BOOK":
            return  # not in the booked balances
        pence = _signed_amount(entry)
        if pence is None:
            self.unreadable += 1
        else:
            self.booked_pence += pence


def read(stream: BinaryIO, *, options: ReadOptions | None = None) -> Iterator:
    head = stream.read(4096)
    check_not_empty(head)
    stream.seek(0)
    whole_entries = bool(options and options.one_line_per_entry)
    line_number = 0
    entries = 0
    message_id = ""
    statement_ids: list[str] = []
    problems: list[str] = []
    statement = _Statement()
    try:
        for _event, element in iterparse(stream, events=("end",), forbid_dtd=True):
            name = _local(element.tag)
            if name == "Acct":
                currency = _text(element, "Ccy")
                if currency and currency != "GBP":
                    raise FileRefused(
                        f"The statement is for an account in {currency}; Counterfoil takes "
                        "pounds sterling (GBP) only."
                    )
            elif name == "Ntry":
                entries += 1
                statement.count(element)
                for item in _entry(line_number + 1, element, whole_entries=whole_entries):
                    line_number = item.line_number
                    yield item
                element.clear()
            elif name == "GrpHdr":
                message_id = _text(element, "MsgId")
            elif name == "Stmt":
                statement_id = _text(element, "Id")
                statement_ids.append(statement_id)
                problems += _balance_problems(element, statement_id, statement)
                statement = _Statement()
                element.clear()
    except DefusedXmlException as error:
        raise FileRefused(
            "The file declares a document type or entities (a DTD). Bank statements never do, "
            "and such declarations can be used to attack a system (an XML bomb or external "
            f"entity), so the file was refused ({type(error).__name__})."
        ) from error
    except ET.ParseError as error:
        raise FileRefused(
            f"The file is not a complete XML document ({error}): it may be truncated, or not "
            "a camt.053 statement."
        ) from error
    except (ValueError, RecursionError) as error:
        raise FileRefused(f"The file could not be read as XML ({error}).") from error
    if entries == 0:
        raise FileRefused(
            "The file has no statement entries (<Ntry>): it is not a camt.053 statement, or "
            "the statement is empty."
        )
    named = ", ".join(filter(None, statement_ids))
    yield FileTotals(
        statement_id=f"{message_id}/{named}" if message_id and named else message_id or named,
        problems=problems,
    )


def _pence(amount: ET.Element | None) -> int | None:
    """An `<Amt>` in GBP as pence; None if it is not pounds and pence."""
    if amount is None or amount.get("Ccy", "") != "GBP":
        return None
    try:
        value = Decimal((amount.text or "").strip())
    except InvalidOperation:
        return None
    if value < 0 or value != value.quantize(Decimal("0.01")) or value >= 10**9:
        return None
    return int(value * 100)


def _signed_amount(element: ET.Element) -> int | None:
    pence = _pence(_find(element, "Amt"))
    direction = _text(element, "CdtDbtInd")
    if pence is None or direction not in {"CRDT", "DBIT"}:
        return None
    return pence if direction == "CRDT" else -pence


def _balance_problems(statement: ET.Element, statement_id: str, entries: _Statement) -> list[str]:
    """Opening booked balance + booked entries = closing booked balance, when the statement
    states both (a statement without them cannot be checked, and is not refused for it)."""
    balances: dict[str, int | None] = {}
    for balance in _children(statement, "Bal"):
        code = _text(balance, "Tp", "CdOrPrtry", "Cd")
        balances.setdefault(code, _signed_amount(balance))
    opening_code = next((code for code in ("OPBD", "PRCD") if code in balances), None)
    if opening_code is None or "CLBD" not in balances:
        return []
    opening, closing = balances[opening_code], balances["CLBD"]
    name = f"Statement {statement_id}" if statement_id else "The statement"
    if opening is None or closing is None:
        return [f"{name}'s opening or closing balance is not an amount in pounds and pence."]
    expected = opening + entries.booked_pence
    if expected == closing and not entries.unreadable:
        return []
    unread = (
        f" ({entries.unreadable:,} booked entr{'ies' if entries.unreadable != 1 else 'y'} with "
        "no amount in pounds not counted)"
        if entries.unreadable
        else ""
    )
    return [
        f"{name}: the opening balance {pence_text(opening)} and the booked entries "
        f"({pence_text(entries.booked_pence)}{unread}) come to {pence_text(expected)}, but the "
        f"closing balance is {pence_text(closing)}."
    ]


def _entry(
    number: int, entry: ET.Element, *, whole_entries: bool
) -> list[PaymentRecord | RejectedLine]:
    raw = shown(ET.tostring(entry, encoding="unicode"))
    amount = _find(entry, "Amt")
    if amount is None:
        return [RejectedLine(number, raw, "the entry has no amount (<Amt>)")]
    currency = amount.get("Ccy", "")
    if currency != "GBP":
        return [
            RejectedLine(
                number,
                raw,
                f"the amount is in {currency or 'no stated currency'}; Counterfoil takes "
                "pounds sterling (GBP) only",
            )
        ]
    try:
        value = Decimal((amount.text or "").strip())
    except InvalidOperation:
        return [RejectedLine(number, raw, f'the amount "{amount.text}" is not a number')]
    if value <= 0 or value != value.quantize(Decimal("0.01")) or value >= 10**9:
        return [RejectedLine(number, raw, f'the amount "{amount.text}" is not pounds and pence')]
    direction = _text(entry, "CdtDbtInd")
    if direction not in {"CRDT", "DBIT"}:
        return [RejectedLine(number, raw, "the entry says neither credit (CRDT) nor debit (DBIT)")]
    status = _text(entry, "Sts") or _text(entry, "Sts", "Cd")
    if status and status not in {"BOOK"}:
        return [RejectedLine(number, raw, f"the entry is not booked yet (status {status})")]
    day_text = (
        _text(entry, "BookgDt", "Dt")
        or _text(entry, "BookgDt", "DtTm")[:10]
        or _text(entry, "ValDt", "Dt")
    )
    try:
        received_on = datetime.date.fromisoformat(day_text)
    except ValueError:
        return [RejectedLine(number, raw, f'the booking date "{day_text}" is not a real date')]
    entry_pence = int(value * 100) * (1 if direction == "CRDT" else -1)
    entry_ref = _text(entry, "AcctSvcrRef") or _text(entry, "NtryRef")
    details = [tx for box in _children(entry, "NtryDtls") for tx in _children(box, "TxDtls")]
    if whole_entries or len(details) <= 1:
        payments = [(details[0] if details else None, entry_pence)]
    else:
        split = _split(details, direction)
        if isinstance(split, str):
            return [RejectedLine(number, raw, split)]
        total = sum(pence for _details, pence in split)
        if total != entry_pence:
            return [
                RejectedLine(
                    number,
                    raw,
                    f"the entry's {len(details)} payments (<TxDtls>) add up to "
                    f"{pence_text(total)} but the entry is for {pence_text(entry_pence)}: none "
                    "of them was imported, as which payer paid what cannot be known",
                )
            ]
        payments = split
    reversal = _text(entry, "RvslInd").lower() == "true"
    return [
        _payment(
            number + index,
            index + 1,
            entry,
            tx,
            pence,
            received_on=received_on,
            entry_ref=entry_ref,
            reversal=reversal,
        )
        for index, (tx, pence) in enumerate(payments)
    ]


def _split(details: list[ET.Element], direction: str) -> list[tuple[ET.Element, int]] | str:
    """Each payment of a batched entry with its own signed amount, or why it cannot be."""
    split = []
    for index, tx in enumerate(details, start=1):
        amount = _find(tx, "Amt")  # (an Element with no children is falsy: no `or`)
        if amount is None:
            amount = _find(tx, "AmtDtls", "TxAmt", "Amt")
        pence = _pence(amount)
        if pence is None:
            return (
                f"payment {index} of the entry's {len(details)} (<TxDtls>) has no amount in "
                "pounds and pence, so the entry cannot be split into its payments: none of "
                "them was imported"
            )
        own = _text(tx, "CdtDbtInd") or direction
        split.append((tx, pence if own == "CRDT" else -pence))
    return split


def _payment(
    number: int,
    place: int,
    entry: ET.Element,
    details: ET.Element | None,
    pence: int,
    *,
    received_on: datetime.date,
    entry_ref: str,
    reversal: bool,
) -> PaymentRecord:
    reference = narrative = payer = tx_ref = ""
    if details is not None:
        reference = _text(details, "RmtInf", "Strd", "CdtrRefInf", "Ref")
        end_to_end = _text(details, "Refs", "EndToEndId")
        narrative = _text(details, "RmtInf", "Ustrd")
        payer = _text(details, "RltdPties", "Dbtr", "Nm") or _text(
            details, "RltdPties", "Dbtr", "Pty", "Nm"
        )
        if not reference and end_to_end and end_to_end != "NOTPROVIDED":
            reference = end_to_end
        if not reference:
            reference = narrative.split()[0] if narrative.split() else ""
        tx_ref = next(
            (
                ref
                for ref in (
                    _text(details, "Refs", "AcctSvcrRef"),
                    _text(details, "Refs", "TxId"),
                    end_to_end if end_to_end != "NOTPROVIDED" else "",
                )
                if ref
            ),
            "",
        )
    narrative = narrative or _text(entry, "AddtlNtryInf")
    if reversal:
        narrative = f"Reversal: {narrative}"
    reference = clean_text(reference, 50)
    payer = clean_text(payer, 200)
    payment = tx_ref or f"#{place}"
    identity = (
        f"camt053:{entry_ref}:{payment}"
        if entry_ref
        else f"camt053:{received_on.isoformat()}:{pence}:{payment}:{reference}:{payer}"
    )
    return PaymentRecord(
        line_number=number,
        amount_pence=pence,
        received_on=received_on,
        reference=reference,
        narrative=clean_text(narrative, 300),
        payer_name=payer,
        channel_code="BANK",
        identity=identity,
    )
