"""Reading an import's file a chunk ahead of its posting, in a thread of its own.

Parsing, validating and allocating each line (income.imports.allocation) and formatting its
rows is Python's share of an import (about fourteen microseconds a line); writing them to the
ledger is PostgreSQL's (about twice that). Done one after the other, the first waits for
nothing but adds its whole time to the import's. So the file is read in chunks by a thread
while the import's own thread posts the chunk before: the two overlap, and all but the first
chunk's reading is hidden behind the posting. The first chunk is small, so posting starts
soon; each after it is half as large again, up to a limit that bounds the memory held (two
chunks: one being posted, one read).

The two threads share one interpreter lock, so the reading thread starts a chunk only when
the import's thread says it may (`read_ahead`: the pipeline says so as it starts writing the
chunk before's receipts, its longest part); while it runs, the lock changes hands often
(SWITCH_INTERVAL), or the import's thread would wait behind it each time the server takes
more COPY data.

The thread reads the stored file and hands over allocated lines (income.imports.lines), each
chunk prepared as COPY text where it can be (`prepare`: income.imports.ledger_writing, which
draws the chunk's ids on a connection of its own), and writes rejected lines to a spool
(memory, then disk: a file of nothing but bad lines must not fill the worker's memory). An
error in it (a refused file, a bug) is raised in the import's thread at the chunk it
happened at.
"""

import contextlib
import datetime
import queue
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from typing import IO, Any

from income.formats.records import FileTotals, PaymentRecord, ReadOptions, RejectedLine
from income.formats.registry import read_file
from income.imports.allocation import LineAllocator
from income.imports.copy_format import copy_text
from income.imports.line_keys import LineKeys
from income.imports.lines import ImportLine, LineChunk

FIRST_CHUNK_LINES = 10_000
MAX_CHUNK_LINES = 100_000
# How much larger each chunk is than the one before. Reading a line takes Python about half
# the time PostgreSQL takes to write it: a chunk up to twice the size of the one being
# written is read in time, but only just, so 1.5 leaves the writing no wait.
CHUNK_GROWTH = 1.5
# While the reader runs, the interpreter lock changes hands every 0.2 ms rather than 5: the
# import's thread sends COPY data a slice at a time, and takes the lock back after each
# slice the server has taken (measured: 3 s of a million-line import spent waiting for it).
SWITCH_INTERVAL = 0.0002


class _Stopped(Exception):
    """The import's thread stopped taking chunks (it failed): the reading thread ends."""


_END = object()


class ChunkReader:
    """The file's good lines, allocated, in chunks read in a thread a chunk ahead of the caller.
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
        allocator: LineAllocator,
        prepare: Callable[[list[ImportLine]], Any] = lambda lines: None,
    ) -> None:
        self.path = path
        self.format_name = format_name
        self.options = options
        self.batch_id = batch_id
        self.channel_ids = channel_ids
        self.allocator = allocator
        self.prepare = prepare
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
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        with self._turns:
            self._turns.notify()
        self._thread.join()
        sys.setswitchinterval(self._switch_interval)
        self.rejected.close()

    def chunks(self) -> Iterator[LineChunk]:
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
        allocate = self.allocator.allocate
        rejected = self.rejected
        lines_read = 0
        rejected_count = 0
        lines: list[ImportLine] = []
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
                    days.add((item.channel_code, item.received_on))
                    line = ImportLine(
                        item.line_number,
                        item.amount_pence,
                        item.received_on,
                        item.reference,
                        item.narrative,
                        item.payer_name,
                        item.channel_code,
                        channel_id,
                        line_key(item),
                    )
                    allocate(line)
                    lines.append(line)
                    if len(lines) >= size:
                        self._hand_over(
                            LineChunk(
                                lines,
                                lines_read,
                                stream.tell(),
                                frozenset(days),
                                self.prepare(lines),
                            )
                        )
                        lines = []
                        days = set()
                        size = min(int(size * CHUNK_GROWTH), MAX_CHUNK_LINES)
                        handed_over += 1
                        self._wait_for_turn(handed_over)
            if lines:
                self._hand_over(
                    LineChunk(
                        lines, lines_read, stream.tell(), frozenset(days), self.prepare(lines)
                    )
                )
        self.lines_read = lines_read
        self.rejected_count = rejected_count
