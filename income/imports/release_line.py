"""Posting a possible duplicate that a finance manager released: the same steps an import
takes for its lines (import rules, funds' reference rules, the fund's own checks, then the
journal, receipt and postings), through the import pipeline's own SQL, for this one line.
Its receipt's key is `release:<id of the held line>`: a line is released once."""

from collections import defaultdict
from dataclasses import dataclass

from django.db import connection

from income.accounts import clearing_account, fund_account, suspense_account
from income.imports import pipeline
from income.imports.debits import post_money_out
from income.imports.reader import NULL, StagingChunk, copy_text
from income.imports.reference_matching import FundMatcher
from income.models import Fund, ImportRule, PossibleDuplicate, Receipt
from tenants.models import User


class _NoNextChunk:
    """The pipeline lets its file reader read on while a chunk's receipts are written; a
    released line is posted alone, with no file to read."""

    def read_ahead(self) -> None:
        return None


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
    clearing_account(channel)
    funds = list(Fund.objects.select_related("reference_rule").prefetch_related("channels"))
    for fund in funds:
        fund_account(fund)
    rules = list(ImportRule.objects.filter(is_active=True).select_related("set_channel"))
    for rule in rules:
        if rule.set_channel is not None:
            clearing_account(rule.set_channel)
    matcher = FundMatcher(funds)
    fund_id, reason = matcher.match(line.reference)
    key = release_key(line)
    values = {
        "line_number": str(line.line_number),
        "amount_pence": str(line.amount_pence),
        "received_on": line.received_on.isoformat(),
        "reference": copy_text(line.reference),
        "narrative": copy_text(line.narrative),
        "payer_name": copy_text(line.payer_name),
        "channel_code": copy_text(channel.code),
        "channel_id": str(channel.pk),
        "reference_fund_id": NULL if fund_id is None else str(fund_id),
        "reference_reason": NULL if reason is None else copy_text(reason),
        "line_key": copy_text(key),
    }
    # By the staging table's own column list, so a column added to it later is noticed here
    # (COPY refuses a NULL in a NOT NULL column) rather than shifting the values.
    columns = [column.strip() for column in pipeline.STAGING_COLUMNS.split(",")]
    row = "\t".join(values.get(column, NULL) for column in columns) + "\n"
    params = {
        "user_id": getattr(user, "pk", None),
        "user_email": getattr(user, "email", "") or "",
        "sha": line.batch.sha256,
        "batch_id": line.batch_id,
        "suspense": suspense_account().pk,
    }
    with connection.cursor() as cursor:
        allocate = pipeline._create_tables(
            cursor, pipeline._refused_fund_channels(funds, rules, {channel.code: channel})
        )
        pipeline._post_chunk(
            cursor,
            _NoNextChunk(),  # type: ignore[arg-type]
            StagingChunk(
                blocks=[row],
                rows=1,
                lines_read=1,
                bytes_read=0,
                days=frozenset({(channel.code, line.received_on)}),
            ),
            rules,
            matcher,
            allocate,
            params,
            defaultdict(float),
            first=True,
        )
        money_out = post_money_out(cursor, line.batch, params) if line.amount_pence < 0 else None
        cursor.execute("DROP TABLE import_staging, import_alloc, import_taken_back")
    if money_out is not None:
        return ReleasedLine(None, money_out.journal_id)
    return ReleasedLine(Receipt.objects.get(idempotency_key=key), None)
