"""Reading an import's file a chunk ahead of its posting, in a thread of its own.

Parsing, validating and matching each line to a fund is Python's share of an import (some
five microseconds a line); allocating and posting it is PostgreSQL's (several times that).
Done one after the other, the first waits for nothing but adds its whole time to the
import's. So the file is read in chunks by a thread while the import's own thread posts the
chunk before: the two overlap, and all but the first chunk's reading is hidden behind the
posting. The first chunk is small, so posting starts soon; each after it is twice the size,
up to a limit that bounds the memory held (two chunks: one being posted, one read).

The two threads share one interpreter lock, so the reading thread starts a chunk only when
the import's thread says it may (`read_ahead`: the pipeline says so as it starts writing the
chunk before's receipts, its longest statement). While the import's thread copies a chunk
into staging (many small writes) or runs its short statements, each return to Python would
otherwise wait for the lock behind a busy reader; during one long wait on the server, the
reader has the lock to itself.

The thread never touches the database: it reads the stored file and hands over staging rows
already in COPY's text format, and writes rejected lines to a spool (memory, then disk: a
file of nothing but bad lines must not fill the worker's memory). An error in it (a refused
file, a bug) is raised in the import's thread at the chunk it happened at.
"""

import contextlib
import datetime
import queue
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from income.formats.records import FileTotals, PaymentRecord, ReadOptions, RejectedLine
from income.formats.registry import read_file
from income.imports.line_keys import LineKeys
from income.imports.reference_matching import FundMatcher

FIRST_CHUNK_LINES = 10_000
MAX_CHUNK_LINES = 100_000
# Staging rows are joined into blocks of this many before they are handed over, so the
# import's thread writes a few large strings to COPY rather than many small ones.
BLOCK_ROWS = 2_000
NULL = "\\N"
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text(value: str) -> str:
    """A value for COPY's text format: backslash, tab and line breaks escaped."""
    return value.translate(_COPY_ESCAPES)


@dataclass(frozen=True)
class StagingChunk:
    """Staging rows in COPY's text format, with how far into the file they reach."""

    blocks: list[str]
    rows: int
    lines_read: int
    bytes_read: int
    # The channels and days of its lines (income.imports.duplicates asks of these).
    days: frozenset[tuple[str, datetime.date]] = frozenset()


class _Stopped(Exception):
    """The import's thread stopped taking chunks (it failed): the reading thread ends."""


_END = object()


class ChunkReader:
    """The file's good lines as staging chunks, read in a thread a chunk ahead of the caller.
    Use as a context manager (the thread starts on entry and is stopped and joined on
    exit); after `chunks()` is exhausted, `lines_read`, `rejected_count` and `rejected`
    (the rejected lines as COPY rows for income_importrejectedline) are complete."""

    def __init__(
        self,
        *,
        path: str,
        format_name: str,
        options: ReadOptions,
        batch_id: int,
        channel_ids: dict[str, int],
        matcher: FundMatcher,
    ) -> None:
        self.path = path
        self.format_name = format_name
        self.options = options
        self.batch_id = batch_id
        self.channel_ids = channel_ids
        self.matcher = matcher
        self.lines_read = 0
        self.rejected_count = 0
        # What the file says of itself, if its format says anything (after its last line).
        self.file_totals: FileTotals | None = None
        # Closed on exit, with the thread.
        self.rejected: IO[str] = tempfile.SpooledTemporaryFile(  # noqa: SIM115
            max_size=8 * 1024 * 1024, mode="w+"
        )
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=1)
        self._stop = threading.Event()
        # The reader may start chunk n once `_allowed` > n; the caller has taken `_taken`.
        self._turns = threading.Condition()
        self._allowed = 1
        self._taken = 0
        self._thread = threading.Thread(
            target=self._read, name=f"import-{batch_id}-reader", daemon=True
        )

    def __enter__(self) -> "ChunkReader":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        with self._turns:
            self._turns.notify()
        self._thread.join()
        self.rejected.close()

    def chunks(self) -> Iterator[StagingChunk]:
        while True:
            self.read_ahead()  # the chunk waited for, if the caller has not let it go yet
            item = self._queue.get()
            if item is _END:
                self.rejected.seek(0)
                return
            if isinstance(item, BaseException):
                raise item
            self._taken += 1
            yield item

    def read_ahead(self) -> None:
        """Let the thread read the chunk after the last one taken."""
        with self._turns:
            if self._allowed <= self._taken:
                self._allowed = self._taken + 1
                self._turns.notify()

    def _wait_for_turn(self, chunk: int) -> None:
        with self._turns:
            while self._allowed <= chunk:
                if self._stop.is_set():
                    raise _Stopped
                self._turns.wait(0.1)

    def _hand_over(self, item: object) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue
        raise _Stopped

    def _read(self) -> None:
        try:
            self._read_chunks()
            self._hand_over(_END)
        except _Stopped:
            pass
        except Exception as error:  # raised again in the import's thread
            with contextlib.suppress(_Stopped):
                self._hand_over(error)

    def _read_chunks(self) -> None:
        batch_id = self.batch_id
        channel_ids = self.channel_ids
        match = self.matcher.match
        escapes = _COPY_ESCAPES
        rejected = self.rejected
        lines_read = 0
        rejected_count = 0
        rows = 0
        blocks: list[str] = []
        pending: list[str] = []
        days: set[tuple[str, datetime.date]] = set()
        size = FIRST_CHUNK_LINES
        handed_over = 0
        line_key = LineKeys().key
        self._wait_for_turn(0)
        with open(self.path, "rb") as stream:
            for item in read_file(self.format_name, stream, options=self.options):
                if isinstance(item, FileTotals):
                    self.file_totals = item
                    continue
                lines_read += 1
                if isinstance(item, RejectedLine):
                    rejected_count += 1
                    rejected.write(
                        f"{batch_id}\t{item.line_number}\t{copy_text(item.raw)}\t"
                        f"{copy_text(item.reason)}\n"
                    )
                elif isinstance(item, PaymentRecord):
                    channel_id = channel_ids.get(item.channel_code)
                    if channel_id is None:
                        rejected_count += 1
                        rejected.write(
                            f"{batch_id}\t{item.line_number}\t{copy_text(item.reference)}\t"
                            f"{copy_text(f'there is no channel {item.channel_code!r}')}\n"
                        )
                        continue
                    fund_id, reason = match(item.reference)
                    days.add((item.channel_code, item.received_on))
                    # COPY's text format, written directly: several times faster than
                    # adapting each value through write_row, for a million lines (and
                    # copy_text's translate inlined, a call saved per value).
                    pending.append(
                        f"{item.line_number}\t{item.amount_pence}\t"
                        f"{item.received_on.isoformat()}\t{item.reference.translate(escapes)}\t"
                        f"{item.narrative.translate(escapes)}\t"
                        f"{item.payer_name.translate(escapes)}\t"
                        f"{item.channel_code.translate(escapes)}\t{channel_id}\t"
                        f"{NULL if fund_id is None else fund_id}\t"
                        f"{NULL if reason is None else reason.translate(escapes)}\t"
                        f"{line_key(item).translate(escapes)}\n"
                    )
                    rows += 1
                    if len(pending) >= BLOCK_ROWS:
                        blocks.append("".join(pending))
                        pending.clear()
                        if rows >= size:
                            self._hand_over(
                                StagingChunk(
                                    blocks, rows, lines_read, stream.tell(), frozenset(days)
                                )
                            )
                            blocks, rows = [], 0
                            days = set()
                            size = min(size * 2, MAX_CHUNK_LINES)
                            handed_over += 1
                            self._wait_for_turn(handed_over)
            if pending:
                blocks.append("".join(pending))
            if rows:
                self._hand_over(
                    StagingChunk(blocks, rows, lines_read, stream.tell(), frozenset(days))
                )
        self.lines_read = lines_read
        self.rejected_count = rejected_count
