"""ISO 20022 camt.053 bank-to-customer statements (any version 001.02 to 001.08+).

Parsed as a stream with defusedxml: a document type declaration (and so any entity, an
"XML bomb" or an external entity reaching for a file or URL) refuses the whole file. Each
`<Ntry>` is one line, numbered from 1 in the file's order. Credits are money in; debits
(including a reversal of an earlier credit, `<RvslInd>true`) take money back. GBP only.
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
    PaymentRecord,
    ReadOptions,
    RejectedLine,
    check_not_empty,
    clean_text,
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


def read(stream: BinaryIO, *, options: ReadOptions | None = None) -> Iterator:
    head = stream.read(4096)
    check_not_empty(head)
    stream.seek(0)
    entry_number = 0
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
                entry_number += 1
                yield _entry(entry_number, element)
                element.clear()
            elif name == "Stmt":
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
    if entry_number == 0:
        raise FileRefused(
            "The file has no statement entries (<Ntry>): it is not a camt.053 statement, or "
            "the statement is empty."
        )


def _entry(number: int, entry: ET.Element) -> PaymentRecord | RejectedLine:
    raw = shown(ET.tostring(entry, encoding="unicode"))
    amount = _find(entry, "Amt")
    if amount is None:
        return RejectedLine(number, raw, "the entry has no amount (<Amt>)")
    currency = amount.get("Ccy", "")
    if currency != "GBP":
        return RejectedLine(
            number,
            raw,
            f"the amount is in {currency or 'no stated currency'}; Counterfoil takes pounds "
            "sterling (GBP) only",
        )
    try:
        value = Decimal((amount.text or "").strip())
    except InvalidOperation:
        return RejectedLine(number, raw, f'the amount "{amount.text}" is not a number')
    if value <= 0 or value != value.quantize(Decimal("0.01")) or value >= 10**9:
        return RejectedLine(number, raw, f'the amount "{amount.text}" is not pounds and pence')
    direction = _text(entry, "CdtDbtInd")
    if direction not in {"CRDT", "DBIT"}:
        return RejectedLine(number, raw, "the entry says neither credit (CRDT) nor debit (DBIT)")
    status = _text(entry, "Sts") or _text(entry, "Sts", "Cd")
    if status and status not in {"BOOK"}:
        return RejectedLine(number, raw, f"the entry is not booked yet (status {status})")
    day_text = (
        _text(entry, "BookgDt", "Dt")
        or _text(entry, "BookgDt", "DtTm")[:10]
        or _text(entry, "ValDt", "Dt")
    )
    try:
        received_on = datetime.date.fromisoformat(day_text)
    except ValueError:
        return RejectedLine(number, raw, f'the booking date "{day_text}" is not a real date')
    details = _find(entry, "NtryDtls", "TxDtls")
    reference = narrative = payer = ""
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
    narrative = narrative or _text(entry, "AddtlNtryInf")
    if _text(entry, "RvslInd").lower() == "true":
        narrative = f"Reversal: {narrative}"
    pence = int(value * 100)
    return PaymentRecord(
        line_number=number,
        amount_pence=pence if direction == "CRDT" else -pence,
        received_on=received_on,
        reference=clean_text(reference, 50),
        narrative=clean_text(narrative, 300),
        payer_name=clean_text(payer, 200),
        channel_code="BANK",
    )
