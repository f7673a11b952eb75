"""A target's layout: which fields its lines hold, in which order and widths, and how dates
and amounts are written. Checked here when a layout is saved; turned into SQL by
income.exports.lines_sql, which PostgreSQL runs straight into the file."""

import re
from dataclasses import dataclass

from income.csv_cells import FORMULA_STARTS

# What a line can hold: name → (label, kind).
FIELDS: dict[str, tuple[str, str]] = {
    "receipt_number": ("Receipt number", "text"),
    "received_on": ("Date received", "date"),
    "booked_on": ("Date booked in the ledger", "date"),
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
    "entry": ("What the line is (receipt, reversal, transfer…)", "text"),
    "amount": ("Amount (into the fund; negative out of it)", "amount"),
}

# strftime directives a date format may use, and PostgreSQL's to_char equivalents.
DATE_DIRECTIVES = {"%d": "DD", "%m": "MM", "%Y": "YYYY", "%y": "YY", "%b": "Mon", "%j": "DDD"}
# A lone % (one ending the format) is a part of its own, so that it is refused, not skipped.
_DATE_PART = re.compile(r"%.?|[^%]+", re.DOTALL)
_LITERAL = re.compile(r"[^%\"\\]+")


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
        if len(pad) != 1 or not pad.isprintable():
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


def to_char_format(date_format: str) -> str:
    """A strftime date format as PostgreSQL's to_char pattern ("%d/%m/%Y" → "DD/MM/YYYY"),
    everything between the directives kept literally; raises ValueError for anything else."""
    pattern = []
    for part in _DATE_PART.findall(date_format):
        if part == "%":
            raise ValueError(
                "A % on its own is not a date part; use " + ", ".join(DATE_DIRECTIVES) + "."
            )
        if part.startswith("%"):
            if part not in DATE_DIRECTIVES:
                raise ValueError(
                    f"{part} is not a date part Counterfoil writes; use "
                    + ", ".join(DATE_DIRECTIVES)
                    + "."
                )
            pattern.append(DATE_DIRECTIVES[part])
        elif not _LITERAL.fullmatch(part) or not part.isprintable():
            raise ValueError("Between the date parts use plain characters (no quotes).")
        else:
            pattern.append(f'"{part}"')
    if not pattern:
        raise ValueError("Give a date format, such as %d/%m/%Y.")
    return "".join(pattern)


def formula_start_problem(value: str, what: str) -> str | None:
    """Why `value` (a date format, a control code: text a layout writes into every line)
    cannot be saved, if it would start a cell the way a spreadsheet formula starts."""
    if value.startswith(FORMULA_STARTS):
        return (
            f"{what} cannot start with =, +, -, @, a tab or a carriage return: a spreadsheet "
            "would run the cell as a formula."
        )
    return None


def date_format_problem(date_format: str) -> str | None:
    """Why a date format cannot be used, or None."""
    problem = formula_start_problem(date_format, "A date format")
    if problem:
        return problem
    try:
        to_char_format(date_format)
    except ValueError as error:
        return str(error)
    return None
