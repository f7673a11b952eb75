"""Serve a WSGI app under gunicorn, and load it from a few local client processes.

Standard library only (no wrk needed). Each client opens a new connection per request, as
gunicorn's sync workers close the connection after every response anyway, and speaks raw
HTTP/1.1 over a socket: http.client would cost the client more CPU than the server on a
small machine, and the server is what we are measuring.
"""

import itertools
import math
import multiprocessing
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.waiting import wait_for

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = "127.0.0.1"


@dataclass
class LoadResult:
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)  # status code or error → count

    @property
    def requests_per_second(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    @property
    def p99_ms(self) -> float:
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)
        return ordered[math.ceil(0.99 * len(ordered)) - 1] * 1000

    def add(self, other: "LoadResult") -> None:
        self.seconds += other.seconds
        self.latencies += other.latencies
        self.failures += other.failures


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def http_request(host: str, path: str, cookie: str = "") -> bytes:
    cookie_header = f"Cookie: {cookie}\r\n" if cookie else ""
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{cookie_header}Connection: close\r\n\r\n".encode()
    )


def fetch_status(port: int, request: bytes, timeout: float = 10.0) -> int:
    with socket.create_connection((LOOPBACK, port), timeout=timeout) as sock:
        sock.sendall(request)
        received = bytearray()
        while chunk := sock.recv(65536):
            received += chunk
    # "HTTP/1.1 200 OK": the status is the second word of the first line.
    return int(received.split(b" ", 2)[1])


@contextmanager
def gunicorn(
    app: str, *, env: Mapping[str, str], log_path: Path, probe: bytes, workers: int = 2
) -> Iterator[int]:
    """Run `app` under gunicorn's sync workers on a free loopback port; yield the port."""
    port = free_port()
    command = [
        sys.executable, "-m", "gunicorn", app,
        "--bind", f"{LOOPBACK}:{port}", "--workers", str(workers), "--worker-class", "sync",
        "--log-level", "warning",
    ]  # fmt: skip
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            command, cwd=REPOSITORY_ROOT, env=dict(env), stdout=log_file, stderr=subprocess.STDOUT
        )

    def answering() -> bool:
        if process.poll() is not None:
            return True
        try:
            fetch_status(port, probe, timeout=2)
        except OSError:
            return False
        return True

    try:
        wait_for(answering, timeout=60, interval=0.2)
        assert process.poll() is None, f"gunicorn {app} exited:\n{log_path.read_text()}"
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def timed_requests(
    port: int,
    requests: Iterator[bytes],
    start_at: float,
    seconds: float,
    answers: tuple[str, ...] = ("200",),
) -> LoadResult:
    """Send `requests` one after another from `start_at` for `seconds`, timing each; a status
    not in `answers` counts as a failure."""
    # Every client starts on the same tick of the shared monotonic clock, and a request that
    # ends after the window closes is not counted, so the window is exactly `seconds` long.
    time.sleep(max(0.0, start_at - time.monotonic()))
    end_at = start_at + seconds
    result = LoadResult(seconds=seconds)
    for request in requests:
        began = time.monotonic()
        try:
            status = str(fetch_status(port, request))
        except (OSError, ValueError, IndexError) as error:
            status = type(error).__name__
        ended = time.monotonic()
        if ended > end_at:
            break
        result.latencies.append(ended - began)
        if status not in answers:
            result.failures[status] += 1
    return result


def _client(port: int, request: bytes, start_at: float, seconds: float) -> LoadResult:
    return timed_requests(port, itertools.repeat(request), start_at, seconds)


class LoadGenerator:
    """A fixed number of client processes, started once and reused for every measurement."""

    def __init__(self, clients: int) -> None:
        self.clients = clients
        # spawn, not fork: the parent holds database connections and pytest's state.
        self._pool = ProcessPoolExecutor(clients, mp_context=multiprocessing.get_context("spawn"))

    def __enter__(self) -> "LoadGenerator":
        # Start the processes now, so their start-up is not inside the first window.
        list(self._pool.map(time.sleep, [0.0] * self.clients))
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._pool.shutdown()

    def run(self, port: int, request: bytes, seconds: float) -> LoadResult:
        """All clients hammer `port` for `seconds`; requests per second is over the window."""
        start_at = time.monotonic() + 0.2
        futures = [
            self._pool.submit(_client, port, request, start_at, seconds)
            for _ in range(self.clients)
        ]
        # The clients ran side by side: their requests add up, their windows do not.
        total = LoadResult(seconds=seconds)
        for future in futures:
            client = future.result()
            total.latencies += client.latencies
            total.failures += client.failures
        return total
