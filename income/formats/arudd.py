"""BACS ARUDD (Advice of Unpaid Direct Debits) reports, XML: each `<ReturnedDebitItem>` is a
Direct Debit the payer's bank returned, with the reason code. Parsed as a stream with
defusedxml (a DTD, and so any entity, refuses the file); GBP only."""

import datetime
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import BinaryIO

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from income.formats.records import FileRefused, RejectedLine, check_not_empty, clean_text, shown

NAME = "arudd"
TITLE = "BACS ARUDD report (returned Direct Debits, XML)"


@dataclass(slots=True)
class ReturnedDebitItem:
    line_number: int  # the item's position in the report, from 1
    reference: str
    amount_pence: int
    original_date: datetime.date
    return_code: str
    return_description: str
    payer_name: str
    raw: str


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def read(stream: BinaryIO) -> Iterator[ReturnedDebitItem | RejectedLine]:
    head = stream.read(4096)
    check_not_empty(head)
    stream.seek(0)
    number = 0
    try:
        for _event, element in iterparse(stream, events=("end",), forbid_dtd=True):
            if _local(element.tag) != "ReturnedDebitItem":
                continue
            number += 1
            yield _item(number, element)
            element.clear()
    except DefusedXmlException as error:
        raise FileRefused(
            "The file declares a document type or entities (a DTD). ARUDD reports never do, "
            f"so the file was refused ({type(error).__name__})."
        ) from error
    except ET.ParseError as error:
        raise FileRefused(f"The file is not a complete XML document ({error}).") from error
    except (ValueError, RecursionError) as error:
        raise FileRefused(f"The file could not be read as XML ({error}).") from error
    if number == 0:
        raise FileRefused("The file has no returned Direct Debits (<ReturnedDebitItem>).")


def _item(number: int, element: ET.Element) -> ReturnedDebitItem | RejectedLine:
    raw = shown(ET.tostring(element, encoding="unicode"))
    payer = next((child for child in element if _local(child.tag) == "PayerAccount"), None)
    currency = element.get("currency", "GBP")
    if currency != "GBP":
        return RejectedLine(number, raw, f"the amount is in {currency}; only GBP is taken")
    try:
        value = Decimal(element.get("valueOf", ""))
    except InvalidOperation:
        return RejectedLine(number, raw, f'the amount "{element.get("valueOf")}" is not a number')
    if value <= 0 or value != value.quantize(Decimal("0.01")):
        return RejectedLine(number, raw, "the amount is not pounds and pence")
    try:
        original = datetime.date.fromisoformat(element.get("originalProcessingDate", ""))
    except ValueError:
        return RejectedLine(number, raw, "the original processing date is not a real date")
    reference = element.get("ref") or (payer.get("ref", "") if payer is not None else "")
    return ReturnedDebitItem(
        line_number=number,
        reference=clean_text(reference, 50),
        amount_pence=int(value * 100),
        original_date=original,
        return_code=clean_text(element.get("returnCode", ""), 10),
        return_description=clean_text(element.get("returnDescription", ""), 100),
        payer_name=clean_text(payer.get("name", "") if payer is not None else "", 200),
        raw=raw,
    )
