"""Turning exported lines into a file in a target's layout: CSV (text cells a spreadsheet
would run as formulas are neutralised) or fixed width (each field padded or cut to its width),
with an optional header and a trailer holding the line count and total."""

import csv
import datetime
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# What a layout can hold: name → (label, kind).
FIELDS: dict[str, tuple[str, str]] = {
    "receipt_number": ("Receipt number", "text"),
    "received_on": ("Date received", "date"),
    "reference": ("Payer's reference", "text"),
    "payer_name": ("Payer's name", "text"),
    "narrative": ("Narrative", "text"),
    "channel": ("Channel code", "text"),
    "fund_code": ("Fund code", "text"),
    "fund_name": ("Fund name", "text"),
    "ledger_code": ("Ledger code", "text"),
    "cost_centre": ("Cost centre", "text"),
    "subjective": ("Subjective", "text"),
    "vat_code": ("VAT code", "text"),
    "amount": ("Amount", "amount"),
}


@dataclass(frozen=True)
class FieldSpec:
    field: str
    width: int = 0
    align: str = "left"  # or right
    pad: str = " "


@dataclass(frozen=True)
class LayoutSpec:
    layout: str  # csv or fixed
    fields: tuple[FieldSpec, ...]
    delimiter: str = ","
    include_header: bool = True
    include_trailer: bool = True
    date_format: str = "%d/%m/%Y"
    amount_format: str = "pounds"


def parse_fields(text: str) -> list[dict]:
    """ "reference,16,left" lines (width, alignment and pad character optional) → fields;
    raises ValueError saying which line is wrong."""
    fields = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split(",")]
        name = parts[0]
        if name not in FIELDS:
            raise ValueError(
                f'Line {number}: "{name}" is not a field (choose from {", ".join(FIELDS)}).'
            )
        width = parts[1] if len(parts) > 1 and parts[1] else "0"
        if not width.isdigit() or int(width) > 200:
            raise ValueError(f"Line {number}: the width must be a whole number up to 200.")
        align = parts[2].lower() if len(parts) > 2 and parts[2] else "left"
        if align not in {"left", "right"}:
            raise ValueError(f'Line {number}: alignment is "left" or "right".')
        pad = parts[3] if len(parts) > 3 and parts[3] else " "
        if len(pad) != 1:
            raise ValueError(f"Line {number}: the pad is one character, such as 0.")
        fields.append({"field": name, "width": int(width), "align": align, "pad": pad})
    if not fields:
        raise ValueError("Give at least one field.")
    return fields


def fields_text(fields: list[dict]) -> str:
    return "\n".join(
        f"{f['field']},{f.get('width', 0)},{f.get('align', 'left')},{f.get('pad', ' ')}"
        for f in fields
    )


def _amount(pence: int, amount_format: str) -> str:
    if amount_format == "pence":
        return str(pence)
    sign = "-" if pence < 0 else ""
    whole, part = divmod(abs(pence), 100)
    return f"{sign}{whole}.{part:02d}"


def _value(row: dict, spec: FieldSpec, layout: LayoutSpec) -> str:
    value = row.get(spec.field)
    kind = FIELDS[spec.field][1]
    if value is None:
        return ""
    if kind == "date":
        return value.strftime(layout.date_format) if isinstance(value, datetime.date) else ""
    if kind == "amount":
        return _amount(int(value), layout.amount_format)
    return " ".join(str(value).split())


def _fixed(text: str, spec: FieldSpec) -> str:
    if not spec.width:
        return text
    text = text[: spec.width]
    return (
        text.rjust(spec.width, spec.pad)
        if spec.align == "right"
        else text.ljust(spec.width, spec.pad)
    )


def neutralise(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def render(layout: LayoutSpec, rows: Iterable[dict], *, made_on: datetime.date) -> Iterator[str]:
    """The file, a chunk at a time. `rows` are dicts keyed by FIELDS names."""
    count = 0
    total = 0
    if layout.layout == "csv":
        out = io.StringIO()
        writer = csv.writer(out, delimiter=layout.delimiter or ",", lineterminator="\r\n")
        if layout.include_header:
            writer.writerow([spec.field for spec in layout.fields])
        for row in rows:
            count += 1
            total += int(row["amount"])
            writer.writerow(
                [
                    neutralise(_value(row, spec, layout))
                    if FIELDS[spec.field][1] == "text"
                    else _value(row, spec, layout)
                    for spec in layout.fields
                ]
            )
            if count % 1000 == 0:
                yield out.getvalue()
                out.seek(0)
                out.truncate()
        if layout.include_trailer:
            writer.writerow(["TRAILER", count, _amount(total, layout.amount_format)])
        yield out.getvalue()
        return
    chunk: list[str] = []
    if layout.include_header:
        chunk.append(f"HDR{made_on:%Y%m%d}\r\n")
    for row in rows:
        count += 1
        total += int(row["amount"])
        chunk.append("".join(_fixed(_value(row, spec, layout), spec) for spec in layout.fields))
        chunk.append("\r\n")
        if len(chunk) >= 2000:
            yield "".join(chunk)
            chunk.clear()
    if layout.include_trailer:
        chunk.append(f"TRL{count:09d}{total:015d}\r\n")
    yield "".join(chunk)
