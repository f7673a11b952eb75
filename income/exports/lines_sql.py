"""A target's lines as SQL: one line per posting to one of its funds, formatted by PostgreSQL
itself so that `COPY ... TO STDOUT` writes the file's body as fast as it reads the rows.

Each field is an expression over the posting `p` and what it names: its fund `f` (through the
fund account), the receipt `r` and its channel `c`, the fund's VAT code `v`, the journal `j`.
Only the tables a layout uses are joined. Text is kept on one line when it is written
(income.text_fields), so here it is only neutralised (CSV) or padded and cut (fixed width).
"""

from dataclasses import dataclass

from psycopg import sql

from income.csv_cells import FORMULA_STARTS
from income.exports.layout import FIELDS, FieldSpec, LayoutSpec, to_char_format
from income.models import EFFECTIVE_REFERENCE_SQL

# Field → (expression, tables it needs besides p and f).
SOURCES: dict[str, tuple[str, tuple[str, ...]]] = {
    "receipt_number": ("r.number", ("r",)),
    "received_on": ("coalesce(r.received_on, p.booked_on)", ("r",)),
    "booked_on": ("p.booked_on", ()),
    # The line's own reference (a split payment's Parking line: its notice, not the payer's
    # Council Tax account), else the receipt's.
    "reference": (EFFECTIVE_REFERENCE_SQL, ("r",)),
    "payer_name": ("r.payer_name", ("r",)),
    "narrative": ("r.narrative", ("r",)),
    "channel": ("c.code", ("r", "c")),
    "fund_code": ("f.code", ()),
    "fund_name": ("f.name", ()),
    "ledger_code": ("f.ledger_code", ()),
    "cost_centre": ("f.cost_centre", ()),
    "subjective": ("f.subjective", ()),
    "vat_code": ("v.code", ("v",)),
    "entry": ("j.kind", ("j",)),
    # Into the fund is a credit in the ledger (a negative posting): positive in the file.
    "amount": ("(-p.amount_pence)", ()),
}
JOINS = {
    "r": "LEFT JOIN income_receipt r ON r.id = p.receipt_id",
    "c": "LEFT JOIN income_channel c ON c.id = r.channel_id",
    "v": "LEFT JOIN income_vatcode v ON v.id = f.vat_code_id",
    "j": "JOIN income_journal j ON j.id = p.journal_id",
}
# The characters a CSV cell is neutralised for starting with, as PostgreSQL's ascii() codes.
FORMULA_CODES = ", ".join(str(ord(start)) for start in FORMULA_STARTS)

FROM = """
FROM income_posting p
JOIN income_account a ON a.id = p.account_id
JOIN income_fund f ON f.id = a.fund_id
{joins}
WHERE p.account_id = ANY(%(accounts)s::bigint[]) AND {window}
"""
# What a run holds, before its lines are written: for the trailer and the run's summary.
TOTALS = """
SELECT count(*), coalesce(sum(-p.amount_pence) FILTER (WHERE p.amount_pence < 0), 0)::bigint,
    coalesce(sum(p.amount_pence) FILTER (WHERE p.amount_pence > 0), 0)::bigint,
    min(p.id), max(p.id)
FROM income_posting p
WHERE p.account_id = ANY(%(accounts)s::bigint[]) AND {window}
"""
# A run's contents for its page: the first lines, in the order they were written.
LISTING = """
SELECT p.id, r.number, coalesce(r.received_on, p.booked_on), {reference}, f.code,
    j.kind, -p.amount_pence
FROM income_posting p
JOIN income_account a ON a.id = p.account_id
JOIN income_fund f ON f.id = a.fund_id
JOIN income_journal j ON j.id = p.journal_id
LEFT JOIN income_receipt r ON r.id = p.receipt_id
WHERE p.id BETWEEN %(first)s AND %(last)s AND p.account_id = ANY(%(accounts)s::bigint[])
    AND {window}
ORDER BY p.id
LIMIT %(limit)s
"""


@dataclass(frozen=True)
class LinesQuery:
    """The SELECT of a layout's lines (for COPY), and the COPY options that write it."""

    select: str
    copy_options: str


def _literal(value: str) -> str:
    """A string as an SQL literal, in a statement that also takes %(name)s parameters."""
    return sql.Literal(value).as_string(None).replace("%", "%%")


def _text(expression: str, spec: FieldSpec, layout: LayoutSpec) -> str:
    kind = FIELDS[spec.field][1]
    if kind == "amount":
        # A number (a leading minus is its sign): written as it is.
        return _amount(expression, layout.amount_format)
    if kind == "date":
        expression = f"to_char({expression}, {_literal(to_char_format(layout.date_format))})"
    if layout.layout == "csv":
        # Every text cell, dates included: a date format saved before formats were checked
        # could still start one with "=".
        return (
            f"CASE WHEN ascii({expression}) IN ({FORMULA_CODES}) "
            f"THEN '''' || {expression} ELSE {expression} END"
        )
    return expression


def _amount(expression: str, amount_format: str) -> str:
    if amount_format == "pence":
        return f"({expression})::text"
    return f"(({expression})::numeric / 100)::numeric(20, 2)::text"


def _fixed(text: str, spec: FieldSpec, layout: LayoutSpec) -> str:
    """Padded to its width and cut to it (lpad and rpad do both), as fixed width needs."""
    if not spec.width:
        return f"coalesce({text}, '')"
    if FIELDS[spec.field][1] == "amount" and spec.align == "right" and spec.pad == "0":
        # A negative amount keeps its sign in front of the zeros: -000004200, not 0000-4200.
        value = SOURCES[spec.field][0]
        size = _amount(f"abs({value})", layout.amount_format)
        return (
            f"CASE WHEN {value} < 0 THEN '-' || lpad({size}, {spec.width - 1}, '0') "
            f"ELSE lpad({size}, {spec.width}, '0') END"
        )
    function = "lpad" if spec.align == "right" else "rpad"
    return f"{function}(coalesce({text}, ''), {spec.width}, {_literal(spec.pad)})"


def tables_for(layout: LayoutSpec) -> list[str]:
    needed: list[str] = []
    for spec in layout.fields:
        for table in SOURCES[spec.field][1]:
            if table not in needed:
                needed.append(table)
    # The receipt's channel needs the receipt; joins go in the order they depend on each other.
    return [table for table in JOINS if table in needed]


def lines_query(layout: LayoutSpec, window: str) -> LinesQuery:
    """The layout's lines as one SELECT, in the order the postings were written."""
    columns = [_text(SOURCES[spec.field][0], spec, layout) for spec in layout.fields]
    joins = "\n".join(JOINS[table] for table in tables_for(layout))
    source = FROM.format(joins=joins, window=window)
    if layout.layout == "csv":
        # NULL is written as nothing; an empty string would be written as "".
        select = ", ".join(f"nullif({column}, '')" for column in columns)
        options = f"FORMAT csv, DELIMITER {_literal(layout.delimiter or ',')}"
    else:
        line = " || ".join(
            _fixed(column, spec, layout)
            for column, spec in zip(columns, layout.fields, strict=True)
        )
        select = f"nullif({line}, '')"
        # One column, delimited and quoted by control characters no stored text holds:
        # PostgreSQL writes each line exactly as built, escaping nothing.
        options = "FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01'"
    return LinesQuery(select=f"SELECT {select}{source}ORDER BY p.id", copy_options=options)


def totals_sql(window: str) -> str:
    return TOTALS.format(window=window)


def listing_sql(window: str) -> str:
    return LISTING.format(window=window, reference=EFFECTIVE_REFERENCE_SQL)
