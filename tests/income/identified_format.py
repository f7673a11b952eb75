"""A payment-file format for tests whose lines carry their own identity and whose file names
its statement, as camt.053 and MT940 do (FileTotals.statement_id): until those formats give
theirs, the duplicate checks that rest on them are tested through this one.

    STATEMENT <statement id>                 (optional)
    CREATED <when>                           (optional: when the bank made the file)
    <identity>,<dd/mm/yyyy>,<pounds>,<reference>
"""

import datetime
from collections.abc import Iterator
from typing import BinaryIO

from income.formats.records import (
    ChannelSpec,
    FileTotals,
    PaymentRecord,
    ReadOptions,
    RejectedLine,
    pounds_to_pence,
)

NAME = "identified_test"
TITLE = "Test lines with their own identity"
FIELDS = ("reference", "amount", "date")
NEEDS_MAPPING = False
CHANNELS = (ChannelSpec("BANK", "Bank transfer", "bank_transfer"),)


def looks_like(head: bytes) -> bool:
    return False


def read(stream: BinaryIO, *, options: ReadOptions | None = None) -> Iterator:
    statement_id = ""
    for line_number, raw in enumerate(stream, start=1):
        text = raw.decode().strip()
        if text.startswith("STATEMENT "):
            statement_id = text.removeprefix("STATEMENT ")
            continue
        if not text or text.startswith("CREATED "):
            continue
        identity, day, pounds, reference = text.split(",")
        pence = pounds_to_pence(pounds)
        if pence is None:
            yield RejectedLine(line_number, text, "not an amount")
            continue
        yield PaymentRecord(
            line_number=line_number,
            amount_pence=pence,
            received_on=datetime.datetime.strptime(day, "%d/%m/%Y").date(),
            reference=reference,
            channel_code="BANK",
            identity=identity,
        )
    yield FileTotals(statement_id=statement_id)
