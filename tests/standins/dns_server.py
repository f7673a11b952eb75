"""A tiny authoritative DNS server for the tests: answers TXT queries from a dict over UDP on
127.0.0.1, so the real resolver code (dnspython) is exercised over the wire."""

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset


class DnsStandIn:
    def __init__(self) -> None:
        self.txt: dict[str, list[str]] = {}
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.queries: list[str] = []
        self._stopping = threading.Event()

    def serve(self) -> None:
        self.socket.settimeout(0.2)
        while not self._stopping.is_set():
            try:
                wire, client = self.socket.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            query = dns.message.from_wire(wire)
            response = dns.message.make_response(query)
            question = query.question[0]
            name = question.name.to_text().rstrip(".").lower()
            self.queries.append(name)
            values = self.txt.get(name)
            if question.rdtype == dns.rdatatype.TXT and values:
                response.answer.append(
                    dns.rrset.from_text_list(
                        question.name,
                        60,
                        dns.rdataclass.IN,
                        dns.rdatatype.TXT,
                        [f'"{value}"' for value in values],
                    )
                )
            elif not values:
                response.set_rcode(dns.rcode.NXDOMAIN)
            self.socket.sendto(response.to_wire(), client)

    def stop(self) -> None:
        self._stopping.set()
        self.socket.close()


@contextmanager
def dns_stand_in() -> Iterator[DnsStandIn]:
    server = DnsStandIn()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop()
        thread.join(timeout=2)
