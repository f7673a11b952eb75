"""The import's reading thread: chunks that grow, errors raised where the import can see
them, and a thread that stops when the import does."""

import datetime
import threading

import pytest

from income.formats import allpay
from income.formats.records import FileRefused, ReadOptions
from income.imports.allocation import LineAllocator
from income.imports.reader import FIRST_CHUNK_LINES, ChunkReader
from income.imports.reference_matching import FundMatcher
from income.imports.rule_matching import RuleMatcher

DAY = datetime.date(2026, 11, 20)
CHANNEL_IDS = {spec.code: number for number, spec in enumerate(allpay.CHANNELS, start=1)}


def allpay_path(tmp_path, good: int, *, bad_every: int = 0):
    lines = []
    for n in range(1, good + 1):
        lines.append(allpay.write_line(reference=f"R{n}", amount_pence=100, letter="P", date=DAY))
        if bad_every and n % bad_every == 0:
            lines.append("too short")
    count = len(lines)
    body = lines + allpay.write_trailer(total_pence=100 * good, count=count)
    path = tmp_path / "allpay.txt"
    path.write_text("\r\n".join(body) + "\r\n", encoding="ascii")
    return str(path)


def reader(path: str) -> ChunkReader:
    return ChunkReader(
        path=path,
        format_name="allpay",
        options=ReadOptions(default_date=DAY),
        batch_id=1,
        channel_ids=CHANNEL_IDS,
        # No funds and no rules: every line to suspense, without a database.
        allocator=LineAllocator(
            funds=[],
            rules=RuleMatcher([]),
            matcher=FundMatcher([]),
            clearing_accounts={channel_id: channel_id for channel_id in CHANNEL_IDS.values()},
            channel_names={channel_id: code for code, channel_id in CHANNEL_IDS.items()},
            suspense_account_id=0,
        ),
    )


def test_chunks_grow_from_the_first_and_every_line_is_counted(tmp_path):
    with reader(allpay_path(tmp_path, 35_000, bad_every=1_000)) as lines:
        chunks = list(lines.chunks())
        rejected = lines.rejected.read().splitlines()

    assert [chunk.rows for chunk in chunks] == [FIRST_CHUNK_LINES, 15_000, 10_000]
    assert [chunk.lines_read for chunk in chunks][-1] <= lines.lines_read == 35_035
    assert lines.rejected_count == len(rejected) == 35
    assert rejected[0].startswith("1\t1001\ttoo short\t")
    first = chunks[1].lines[0]
    assert (first.line_number, first.amount_pence, first.received_on, first.reference) == (
        10011, 100, DAY, "R10001",
    )  # fmt: skip
    assert first.fund_id is None
    assert first.suspense_reason == "the reference R10001 fits no fund's reference rule"


def test_a_refused_file_is_refused_to_the_import(tmp_path):
    path = tmp_path / "statement.xml"
    namespace = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"
    path.write_text(f'<?xml version="1.0"?><Document xmlns="{namespace}"></Document>')
    with reader(str(path)) as lines, pytest.raises(FileRefused, match="another format"):
        list(lines.chunks())


def test_the_thread_stops_when_the_import_does(tmp_path):
    with reader(allpay_path(tmp_path, 50_000)) as lines:
        next(lines.chunks())  # the import fails after its first chunk
    assert "import-1-reader" not in {thread.name for thread in threading.enumerate()}
