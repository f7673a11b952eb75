"""CSV files read through a council's saved column mapping: bank statement exports (UK banks
each lay theirs out differently: one signed amount column, or separate money in and money
out; dates written many ways) and generic CSV for anything else.

A cell a spreadsheet would run as a formula (starting `=`, `+` or `@`) is read as the text it
is: a payer may well be called "=SUM(1)", and refusing the line would turn their money away.
Such text is made harmless where it is written into a CSV file (income.csv_cells), not here.

A line's identity is its format's name with the mapped columns' values as read (the date, the
amount in pence, the reference, narrative and payer name with their spacing evened out): the
next export from a bank that overlaps the last one writes the same payment the same way in
meaning, if not in characters ("10.0" and "10.00", another date layout).
"""

import csv
import datetime
from collections.abc import Iterator
from typing import BinaryIO

from income.formats.records import (
    MAX_LINE_BYTES,
    CsvMappingSpec,
    FileRefused,
    PaymentRecord,
    ReadOptions,
    RejectedLine,
    check_not_empty,
    check_not_utf16,
    clean_text,
    numbered_lines,
    pounds_to_pence,
    shown,
)

FIELDS = ("reference", "amount", "narrative", "payer_name", "date")
NEEDS_MAPPING = True
MAX_FIELD = 10_000


def looks_like(head: bytes) -> bool:
    first = head.split(b"\n", 1)[0]
    return first.count(b",") >= 2 or first.count(b";") >= 2 or first.count(b"\t") >= 2


def _decoded(stream: BinaryIO) -> Iterator[str]:
    for line_number, raw, too_long in numbered_lines(stream):
        if too_long:
            raise FileRefused(
                f"Line {line_number} is longer than {MAX_LINE_BYTES:,} characters: this is not "
                "a CSV file of payments."
            )
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            # UK banks' exports are often Windows-1252 (a £ sign); every byte decodes there.
            yield raw.decode("cp1252", errors="replace")


def read(
    stream: BinaryIO, *, options: ReadOptions | None = None, format_name: str = "csv"
) -> Iterator:
    """The file's lines through the mapping; `format_name` leads each line's identity."""
    mapping = options.mapping if options else None
    if mapping is None:
        raise FileRefused("Choose the column mapping that says which column holds what.")
    head = stream.read(4096)
    check_not_empty(head)
    check_not_utf16(head)
    stream.seek(0)
    if head.startswith(b"\xef\xbb\xbf"):
        stream.read(3)
    default_date = options.default_date if options else None
    reader = csv.reader(_decoded(stream), delimiter=mapping.delimiter or ",", strict=False)
    previous_line = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            yield RejectedLine(reader.line_num, "", f"the line is not valid CSV ({error})")
            previous_line = reader.line_num
            continue
        line_number = previous_line + 1
        previous_line = reader.line_num
        if line_number <= mapping.header_rows:
            continue
        if not any(cell.strip() for cell in row):
            continue
        yield _row(line_number, row, mapping, default_date, format_name)


def _cell(row: list[str], column: int) -> str:
    if column <= 0 or column > len(row):
        return ""
    return row[column - 1].strip()


def _row(
    line_number: int,
    row: list[str],
    mapping: CsvMappingSpec,
    default_date: datetime.date | None,
    format_name: str,
) -> PaymentRecord | RejectedLine:
    raw = shown(mapping.delimiter.join(row))
    if any(len(cell) > MAX_FIELD for cell in row):
        return RejectedLine(line_number, raw, "a cell is longer than 10,000 characters")
    needed = max(
        mapping.date_column,
        mapping.amount_column,
        mapping.credit_column,
        mapping.debit_column,
        mapping.reference_column,
    )
    if len(row) < needed:
        return RejectedLine(
            line_number, raw, f"the line has {len(row)} columns; the mapping needs {needed}"
        )
    texts = {
        "reference": _cell(row, mapping.reference_column),
        "narrative": _cell(row, mapping.narrative_column),
        "payer name": _cell(row, mapping.payer_name_column),
    }
    currency = _cell(row, mapping.currency_column).upper()
    if currency and currency != "GBP":
        return RejectedLine(
            line_number,
            raw,
            f"the amount is in {currency}; Counterfoil takes pounds sterling (GBP) only",
        )
    pence = _amount(row, mapping)
    if isinstance(pence, str):
        return RejectedLine(line_number, raw, pence)
    if mapping.date_column:
        date_text = _cell(row, mapping.date_column)
        try:
            received_on = datetime.datetime.strptime(date_text, mapping.date_format).date()
        except ValueError:
            return RejectedLine(
                line_number,
                raw,
                f'the date "{date_text}" is not a real date written as the mapping says '
                f"({mapping.date_format})",
            )
    elif default_date is not None:
        received_on = default_date
    else:
        return RejectedLine(line_number, raw, "the line has no date")
    reference = texts["reference"]
    if not reference and texts["narrative"]:
        reference = texts["narrative"].split()[0]
    record = PaymentRecord(
        line_number=line_number,
        amount_pence=pence,
        received_on=received_on,
        reference=clean_text(reference, 50),
        narrative=clean_text(texts["narrative"], 300),
        payer_name=clean_text(texts["payer name"], 200),
        channel_code=mapping.channel_code or "BANK",
    )
    record.identity = _identity(format_name, record)
    return record


def _identity(format_name: str, record: PaymentRecord) -> str:
    values = (
        record.received_on.isoformat(),
        str(record.amount_pence),
        record.reference,
        record.narrative,
        record.payer_name,
    )
    # Joined by a character no value holds once cleaned (clean_text drops control characters).
    return f"{format_name}:" + "\x1f".join(values)


def _amount(row: list[str], mapping: CsvMappingSpec) -> int | str:
    if mapping.amount_column:
        text = _cell(row, mapping.amount_column)
        pence = pounds_to_pence(text)
        if pence is None:
            return f'the amount "{text}" is not a number of pounds and pence'
    else:
        credit_text = _cell(row, mapping.credit_column)
        debit_text = _cell(row, mapping.debit_column)
        credit = pounds_to_pence(credit_text) if credit_text else 0
        debit = pounds_to_pence(debit_text) if debit_text else 0
        if credit is None:
            return f'the money in "{credit_text}" is not a number of pounds and pence'
        if debit is None:
            return f'the money out "{debit_text}" is not a number of pounds and pence'
        pence = abs(credit) - abs(debit)
    if pence == 0:
        return "the amount is zero"
    if abs(pence) >= 10**11:
        return "the amount is too large to be a payment"
    return pence
