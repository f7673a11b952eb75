"""Writing a chunk of allocated lines (income.imports.allocation) to the ledger:

- one journal for the chunk's receipts (`Receipts R1 to R100000 of import 7`): each
  receipt's postings balance on their own, so the journal does too, and a chunk of a
  hundred thousand lines writes one journal row rather than a hundred thousand;
- each incoming line's receipt, and its postings: the clearing account debited, the fund
  (or suspense) credited, and what is above a fund's maximum to suspense where the fund
  says so;
- the lines that went to suspense, for the import's summary;

each by COPY. The chunk is *prepared* first (`prepare_chunk`): its ids drawn from their
sequences in one statement, in the file's order, and every row formatted as COPY text, with
its totals and the lines that take money out (posted together at the end of the import,
income.imports.debits). The file's reading thread prepares each chunk as it reads it, with
ids drawn on a connection of its own (`IdSource`): the import's thread then only sends text
that is ready while PostgreSQL writes, and never waits for Python's formatting.
"""

import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

import psycopg
from django.db import connection

from income.imports.copy_format import COPY_ESCAPES, NULL
from income.imports.lines import ImportLine

BLOCK_BYTES = 1 << 20
IDS = """
SELECT (SELECT nextval(%(journals)s::regclass)),
    array_agg(nextval(%(receipts)s::regclass) ORDER BY n),
    array_agg(nextval(%(numbers)s::regclass) ORDER BY n)
FROM generate_series(1, %(count)s) AS n
"""
RECEIPT_COLUMNS = (
    "id, number, amount_pence, channel_id, received_on, payer_reference, payer_name, narrative, "
    "idempotency_key, status, created_by_id, journal_id, import_batch_id, import_line_number"
)
POSTING_COLUMNS = "journal_id, account_id, amount_pence, receipt_id, booked_on"
SUSPENDED_COLUMNS = "batch_id, line_number, receipt_id, amount_pence, reference, reason"
EXCESS_REASON = "more than the fund's maximum: the excess went to suspense"


@dataclass(frozen=True)
class ImportContext:
    """What every chunk of one import is written with."""

    batch_id: int
    file_name: str
    user_id: int | None
    user_email: str
    suspense_account_id: int
    # The sequences ids are drawn from, named with their schema (any connection may draw).
    journal_sequence: str
    receipt_sequence: str
    number_sequence: str
    # The transaction's time (now()): when a held line was held.
    created_at: str


@dataclass
class ChunkTotals:
    """The import's summary, chunk by chunk."""

    created: int = 0
    created_pence: int = 0
    adjusted: int = 0
    adjusted_pence: int = 0
    suspended: int = 0
    suspended_pence: int = 0
    # By fund: the lines and pence that reached it.
    by_fund: dict[int, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))

    def add(self, other: "ChunkTotals") -> None:
        self.created += other.created
        self.created_pence += other.created_pence
        self.adjusted += other.adjusted
        self.adjusted_pence += other.adjusted_pence
        self.suspended += other.suspended
        self.suspended_pence += other.suspended_pence
        for fund_id, (count, pence) in other.by_fund.items():
            self.by_fund[fund_id][0] += count
            self.by_fund[fund_id][1] += pence

    def as_list(self) -> list[int]:
        return [
            self.created,
            self.created_pence,
            self.adjusted,
            self.adjusted_pence,
            self.suspended,
            self.suspended_pence,
        ]


# What post_money_out reads of a line that takes money out.
MoneyOutLine = tuple[int, int, Any, str, str, int, int, str]


@dataclass(frozen=True)
class ReservedIds:
    journal_id: int
    receipt_ids: list[int]
    numbers: list[int]


@dataclass
class PreparedChunk:
    """A chunk ready to send: its rows as COPY text, its totals and its money-out lines."""

    journal_id: int | None
    journal_description: str
    receipts: list[bytes]
    postings: list[bytes]
    suspended: list[bytes]
    totals: ChunkTotals
    money_out: list[MoneyOutLine]


def reserve_ids(cursor: psycopg.Cursor, context: ImportContext, count: int) -> ReservedIds:
    """A journal id, and `count` receipt ids and numbers in order, in one statement. Binary:
    two arrays of a hundred thousand numbers, read without parsing text."""
    cursor.execute(
        IDS,
        {
            "journals": context.journal_sequence,
            "receipts": context.receipt_sequence,
            "numbers": context.number_sequence,
            "count": count,
        },
        binary=True,
    )
    journal_id, receipt_ids, numbers = cursor.fetchone()
    return ReservedIds(journal_id, receipt_ids, numbers)


class IdSource:
    """Draws ids on a connection of its own, for a thread other than the import's (sequences
    are not transactional: ids drawn for an import that rolls back are gaps, as always).
    Where that connection cannot see the sequences (a council made in the import's own
    transaction, not yet committed), it draws none: the import's thread draws them."""

    def __init__(self, context: ImportContext) -> None:
        self.context = context
        self.params = connection.get_connection_params()
        self._connection: psycopg.Connection | None = None
        self._visible: bool | None = None

    def reserve(self, count: int) -> ReservedIds | None:
        if self._visible is False:
            return None
        if self._connection is None:
            self._connection = psycopg.connect(**self.params, autocommit=True)
        with psycopg.Cursor(self._connection) as cursor:
            if self._visible is None:
                sequences = [
                    self.context.journal_sequence,
                    self.context.receipt_sequence,
                    self.context.number_sequence,
                ]
                cursor.execute(
                    "SELECT bool_and(to_regclass(name) IS NOT NULL) FROM unnest(%s::text[]) name",
                    [sequences],
                )
                self._visible = bool(cursor.fetchone()[0])
                if not self._visible:
                    return None
            return reserve_ids(cursor, self.context, count)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def reserve_on(cursor: Any, context: ImportContext, count: int) -> ReservedIds:
    """Ids drawn on the import's own connection (Django's cursor binds its parameters on the
    client, which binary results need on the server: a plain cursor of the same connection)."""
    with psycopg.Cursor(cursor.cursor.connection) as plain:
        return reserve_ids(plain, context, count)


def prepare_chunk(
    lines: list[ImportLine],
    context: ImportContext,
    reserve: Callable[[int], ReservedIds | None],
) -> PreparedChunk | None:
    """The chunk's rows as COPY text, with its totals and money-out lines (None if no ids
    could be drawn for it)."""
    totals = ChunkTotals()
    money_out: list[MoneyOutLine] = []
    incoming = []
    for line in lines:
        if line.amount_pence > 0:
            incoming.append(line)
        elif line.amount_pence < 0:
            money_out.append(
                (
                    line.line_number,
                    -line.amount_pence,
                    line.received_on,
                    line.posted_reference,
                    line.narrative,
                    line.posted_channel_id,
                    line.clearing_account_id,
                    line.line_key,
                )
            )
            totals.adjusted += 1
            totals.adjusted_pence -= line.amount_pence
    if not incoming:
        return PreparedChunk(None, "", [], [], [], totals, money_out)
    ids = reserve(len(incoming))
    if ids is None:
        return None
    first_line, last_line = incoming[0].line_number, incoming[-1].line_number
    # Written, and numbered, in the order of their keys: a chunk's keys go into the unique
    # index in one sweep rather than at random (a key is a digest of the line: random), and
    # its ids and numbers still each go in at the end of theirs. Measured at a million
    # lines: about 2 s less than in the file's order, and 3 s less than keys in their order
    # with numbers in the file's. Each receipt keeps its line number.
    incoming.sort(key=_by_key)
    for line, number in zip(incoming, ids.numbers, strict=True):
        line.number = number
    _add_totals(incoming, totals)
    suspended = [
        (line, receipt_id)
        for line, receipt_id in zip(incoming, ids.receipt_ids, strict=True)
        if line.suspense_reason is not None or line.excess_pence > 0
    ]
    return PreparedChunk(
        journal_id=ids.journal_id,
        journal_description=(
            f"Receipts R{ids.numbers[0]} to R{ids.numbers[-1]} of import {context.batch_id} "
            f"({context.file_name}), lines {first_line:,} to {last_line:,}"
        )[:300],
        receipts=_blocks(_receipt_rows(incoming, ids, context)),
        postings=_blocks(_posting_rows(incoming, ids, context.suspense_account_id)),
        suspended=_blocks(_suspended_rows(suspended, context.batch_id)),
        totals=totals,
        money_out=money_out,
    )


_by_key = attrgetter("line_key")


def write_chunk(
    cursor: Any,
    prepared: PreparedChunk,
    context: ImportContext,
    timings: dict[str, float],
    *,
    before_receipts: Callable[[], None] = lambda: None,
) -> None:
    """Send a prepared chunk: its journal, receipts, postings and suspense lines. Calls
    `before_receipts` as the receipts start to be written (the longest part)."""
    if prepared.journal_id is None:
        return
    began = time.perf_counter()
    cursor.execute(
        "INSERT INTO income_journal (id, kind, description, created_at, created_by_id, "
        "created_by_email) VALUES (%s, 'receipt', %s, now(), %s, %s)",
        [prepared.journal_id, prepared.journal_description, context.user_id, context.user_email],
    )
    timings["journal"] += time.perf_counter() - began
    before_receipts()
    for name, table, columns, blocks in (
        ("receipts", "income_receipt", RECEIPT_COLUMNS, prepared.receipts),
        ("postings", "income_posting", POSTING_COLUMNS, prepared.postings),
        ("suspense", "income_importsuspendedline", SUSPENDED_COLUMNS, prepared.suspended),
    ):
        if not blocks:
            continue
        began = time.perf_counter()
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for block in blocks:
                copy.write(block)
        timings[name] += time.perf_counter() - began


def _blocks(rows: Iterator[str]) -> list[bytes]:
    """Rows joined into blocks of about a megabyte, encoded: few large writes to COPY."""
    blocks: list[bytes] = []
    block: list[str] = []
    size = 0
    for row in rows:
        block.append(row)
        size += len(row)
        if size >= BLOCK_BYTES:
            blocks.append("".join(block).encode())
            block.clear()
            size = 0
    if block:
        blocks.append("".join(block).encode())
    return blocks


def _receipt_rows(
    lines: list[ImportLine], ids: ReservedIds, context: ImportContext
) -> Iterator[str]:
    escapes = COPY_ESCAPES
    # The values every row shares, written once.
    user = NULL if context.user_id is None else str(context.user_id)
    tail = f"active\t{user}\t{ids.journal_id}\t{context.batch_id}"
    return (
        f"{receipt_id}\tR{line.number}\t{line.amount_pence}\t{line.posted_channel_id}\t"
        f"{line.received_on}\t{line.posted_reference[:50].translate(escapes)}\t"
        f"{line.payer_name[:200].translate(escapes)}\t{line.narrative[:300].translate(escapes)}\t"
        f"{line.line_key.translate(escapes)}\t{tail}\t{line.line_number}\n"
        for line, receipt_id in zip(lines, ids.receipt_ids, strict=True)
    )


def _posting_rows(
    lines: list[ImportLine], ids: ReservedIds, suspense_account_id: int
) -> Iterator[str]:
    """Each receipt's postings: clearing debited; the fund (or suspense, with the reason)
    credited with what it keeps; suspense credited with any excess over the fund's maximum."""
    journal_id = ids.journal_id
    for line, receipt_id in zip(lines, ids.receipt_ids, strict=True):
        amount = line.amount_pence
        excess = line.excess_pence
        day = line.received_on
        rows = f"{journal_id}\t{line.clearing_account_id}\t{amount}\t{receipt_id}\t{day}\n"
        credit_account = (
            line.fund_account_id if line.suspense_reason is None else suspense_account_id
        )
        if amount != excess:
            rows += f"{journal_id}\t{credit_account}\t{excess - amount}\t{receipt_id}\t{day}\n"
        if excess:
            rows += f"{journal_id}\t{suspense_account_id}\t{-excess}\t{receipt_id}\t{day}\n"
        yield rows


def _suspended_rows(suspended: list[tuple[ImportLine, int]], batch_id: int) -> Iterator[str]:
    escapes = COPY_ESCAPES
    for line, receipt_id in suspended:
        reason = line.suspense_reason
        pence = line.excess_pence if reason is None else line.amount_pence
        yield (
            f"{batch_id}\t{line.line_number}\t{receipt_id}\t{pence}\t"
            f"{line.posted_reference[:50].translate(escapes)}\t"
            f"{(reason or EXCESS_REASON).translate(escapes)}\n"
        )


def _add_totals(incoming: list[ImportLine], totals: ChunkTotals) -> None:
    by_fund = totals.by_fund
    for line in incoming:
        amount = line.amount_pence
        totals.created += 1
        totals.created_pence += amount
        if line.suspense_reason is not None:
            totals.suspended += 1
            totals.suspended_pence += amount
            continue
        if line.excess_pence:
            totals.suspended += 1
            totals.suspended_pence += line.excess_pence
        kept = by_fund[line.fund_id]  # type: ignore[index]
        kept[0] += 1
        kept[1] += amount - line.excess_pence
