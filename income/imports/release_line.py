"""Posting a possible duplicate that a finance manager released: the same steps an import
takes for its lines (import rules, funds' reference rules, the fund's own checks, then the
journal, receipt and postings), through the import pipeline's own code, for this one line.
Its receipt's key is `release:<id of the held line>`: a line is released once."""

from collections import defaultdict
from dataclasses import dataclass

from django.db import connection

from income.imports import pipeline
from income.imports.debits import post_money_out
from income.imports.ledger_writing import ChunkTotals, MoneyOutLine
from income.imports.lines import ImportLine, LineChunk
from income.models import PossibleDuplicate, Receipt
from tenants.models import User


def release_key(line: PossibleDuplicate) -> str:
    return f"release:{line.pk}"


@dataclass(frozen=True)
class ReleasedLine:
    receipt: Receipt | None  # None for money out
    money_out_journal_id: int | None  # the journal that took money out, for money out


def post_released_line(line: PossibleDuplicate, user: User | None) -> ReleasedLine:
    """The held line's receipt, allocated by today's rules as an import would allocate it;
    for money out, no receipt: the line is taken back as the import takes its debits back
    (from the one receipt it identifies, or to the unexplained debits), in a journal of its
    own that the import's reversal reverses too."""
    channel = line.channel
    key = release_key(line)
    imported = ImportLine(
        line.line_number,
        line.amount_pence,
        line.received_on,
        line.reference,
        line.narrative,
        line.payer_name,
        channel.code,
        channel.pk,
        key,
    )
    money_out: list[MoneyOutLine] = []
    with connection.cursor() as cursor:
        allocator = pipeline.line_allocator(cursor, [channel])
        context = pipeline.import_context(cursor, line.batch, user)
        allocator.allocate(imported)
        # Its key is new (a line is released once): there is nothing to hold it back for.
        pipeline.post_chunk(
            cursor,
            LineChunk([imported], lines_read=1, bytes_read=0),
            allocator,
            context,
            ChunkTotals(),
            money_out,
            defaultdict(float),
            hold_duplicates=False,
        )
        if money_out:
            return ReleasedLine(
                None, post_money_out(cursor, line.batch, context, money_out).journal_id
            )
    return ReleasedLine(Receipt.objects.get(idempotency_key=key), None)
