"""A real HTTP endpoint for event notifications (a threaded http.server on 127.0.0.1): it
records every request and answers by path, as a council's receiving system might.

    /ok...         200
    /fail...       500
    /redirect...   302 to /ok (a receiver moved; Counterfoil must not follow)
    /slow...       waits `slow_seconds` before answering 200 (timeouts)
    /hang-once...  the first request waits until `release` is set (or 60 s); later ones 200
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int | None = None


@dataclass
class EventReceiver:
    server: ThreadingHTTPServer
    received: list[Received] = field(default_factory=list)
    slow_seconds: float = 2.0
    release: threading.Event = field(default_factory=threading.Event)
    hung_once: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def answered(self) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.answered is not None]


class _Handler(BaseHTTPRequestHandler):
    receiver: EventReceiver
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without this, Nagle and delayed ACKs add
    # 40 ms to every keep-alive request.
    disable_nagle_algorithm = True

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        record = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        receiver = self.receiver
        with receiver.lock:
            receiver.received.append(record)
        status, location = 200, None
        if self.path.startswith("/fail"):
            status = 500
        elif self.path.startswith("/redirect"):
            status, location = 302, "/ok"
        elif self.path.startswith("/slow"):
            receiver.release.wait(receiver.slow_seconds)
        elif self.path.startswith("/hang-once"):
            with receiver.lock:
                first, receiver.hung_once = not receiver.hung_once, True
            if first:
                receiver.release.wait(60)
        payload = b'{"received":true}'
        try:
            self.send_response(status)
            if location:
                self.send_header("Location", location)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            record.answered = status
        except OSError:
            pass  # the sender went away (timed out, or its worker died)


@contextmanager
def event_receiver() -> Iterator[EventReceiver]:
    handler = type("Handler", (_Handler,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    receiver = EventReceiver(server)
    handler.receiver = receiver
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        server.shutdown()
        server.server_close()
