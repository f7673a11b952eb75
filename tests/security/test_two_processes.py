"""Sign-in security holds across processes as well as hosts: the real web server (gunicorn with
two workers, as `counterfoil serve` starts it) against the test database.

Which worker answers is pinned, not left to chance: a connection that has sent half a request
keeps one sync worker waiting for the rest, so the next requests go to the other; the access
log (with each line's process id) shows which process answered what.
"""

import os
import re
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from django.core.cache import caches
from django.db import connection
from psycopg.conninfo import make_conninfo

from counterfoil.cli import web_server_command
from tenants import second_factor_lock
from tenants.actions.councils import council_host
from tenants.models import CouncilRole, Membership, User
from tests.bench.http_load import LOOPBACK, free_port
from tests.conftest import make_member
from tests.factories import totp_code_now
from tests.waiting import wait_for

REPOSITORY = Path(__file__).resolve().parents[2]
SERVER_APPLICATION_NAME = "counterfoil-security-server"
LOGIN = "/accounts/login/"
SECOND_FACTOR = "/accounts/2fa/authenticate/"
TOKEN = "Zq3kV9mW2xT8yL4nR7pB1cD6fH0jK5sA"
ACCESS_LOG_FORMAT = '%(p)s %({host}i)s "%(r)s" %(s)s "%(f)s"'


class Server:
    def __init__(self, port: int, log_path: Path) -> None:
        self.port = port
        self.log_path = log_path
        self.start = 0  # where this test's part of the log begins

    def access_lines(self, method: str, path: str, host: str) -> list[str]:
        pattern = re.compile(rf'^<(\d+)> {re.escape(host)} "{method} {re.escape(path)} ')
        return [line for line in self.log().splitlines() if pattern.match(line)]

    def pids(self, method: str, path: str, host: str) -> set[str]:
        return {line.split(">", 1)[0][1:] for line in self.access_lines(method, path, host)}

    def log(self) -> str:
        """The log since the test began (the server serves every test of the module)."""
        return self.log_path.read_text(errors="replace")[self.start :]


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker, council_a, council_b, tmp_path_factory):
    from django.conf import settings

    database = settings.DATABASES["default"]["NAME"]
    env = {
        **os.environ,
        "DATABASE_URL": make_conninfo(
            os.environ["DATABASE_URL"], dbname=database, application_name=SERVER_APPLICATION_NAME
        ),
        # Each test client says where it is through the proxy header, as behind a load balancer.
        "TRUSTED_PROXY_COUNT": "1",
    }
    port = free_port()
    log_path = tmp_path_factory.mktemp("security") / "gunicorn.log"
    command = [*web_server_command(port, workers=2), "--access-logformat", ACCESS_LOG_FORMAT]
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            command, cwd=REPOSITORY, env=env, stdout=log_file, stderr=subprocess.STDOUT
        )
    try:
        wait_for(lambda: _answers(port) or process.poll() is not None, timeout=60)
        assert process.poll() is None, log_path.read_text()
        yield Server(port, log_path)
    finally:
        process.terminate()
        process.wait(timeout=20)
        with django_db_blocker.unblock():
            wait_for(lambda: _server_connections(database) == 0, timeout=20)
            # What the server counted was committed: forget it, for the tests that follow.
            caches["account_security"].clear()


def _answers(port: int) -> bool:
    try:
        response = httpx.get(f"http://{LOOPBACK}:{port}/health/live", headers={"Host": "localhost"})
        return response.status_code == 200
    except httpx.HTTPError:
        return False


def _server_connections(database: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name = %s",
            [database, SERVER_APPLICATION_NAME],
        )
        return cursor.fetchone()[0]


@pytest.fixture
def committed_people(django_db_blocker, council_a, council_b) -> Iterator[Callable[[], User]]:
    """People who work for both councils, committed so the server sees them."""
    made: list[User] = []

    def make() -> User:
        with django_db_blocker.unblock():
            person = make_member(council_a)
            Membership.objects.create(
                user=person, council=council_b, role=CouncilRole.INCOME_OFFICER
            )
        made.append(person)
        return person

    yield make
    # Gone again, for the tests that follow. Not through the ORM's cascade: it would look for
    # council tables (that refer to users) in the public schema.
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        ids = [person.pk for person in made]
        for table in ("account_emailaddress", "mfa_authenticator", "tenants_membership"):
            cursor.execute(f"DELETE FROM public.{table} WHERE user_id = ANY(%s)", [ids])  # noqa: S608
        cursor.execute("DELETE FROM public.tenants_user WHERE id = ANY(%s)", [ids])


class Browser:
    """One browser's cookies on one host, arriving from one address."""

    def __init__(self, server: Server, host: str, address: str) -> None:
        self.host = host
        self.http = httpx.Client(
            base_url=f"http://{LOOPBACK}:{server.port}",
            headers={"Host": host, "X-Forwarded-For": address},
            timeout=30,
        )

    def post_form(self, path: str, data: dict[str, str]) -> httpx.Response:
        page = self.http.get(path)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert token, (path, page.status_code, page.text[:500])
        return self.http.post(path, data={**data, "csrfmiddlewaretoken": token.group(1)})

    def give_password(self, email: str, password: str | None = None) -> httpx.Response:
        from tests.factories import PASSWORD

        return self.post_form(LOGIN, {"login": email, "password": password or PASSWORD})

    def give_code(self, code: str) -> httpx.Response:
        return self.post_form(SECOND_FACTOR, {"code": code})


class HeldWorker:
    """A connection that has sent half a request: the sync worker that took it waits for the
    rest, so every other request goes to the other worker until it is released."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection((LOOPBACK, port), timeout=30)
        self.sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: localhost\r\n")
        time.sleep(0.3)  # taken off the queue by a worker before anything else arrives

    def release(self) -> None:
        self.sock.sendall(b"Connection: close\r\n\r\n")
        received = b""
        while chunk := self.sock.recv(65536):
            received += chunk
        self.sock.close()
        assert received.startswith(b"HTTP/1.1 200"), received[:200]


@contextmanager
def each_worker_in_turn(port: int) -> Iterator[Callable[[], None]]:
    """Yields `switch()`: until it is called requests go to one worker, then to the other."""
    held = [HeldWorker(port)]

    def switch() -> None:
        held.append(HeldWorker(port))  # the worker that was answering now waits
        held.pop(0).release()  # and the one that waited answers from now on

    try:
        yield switch
    finally:
        for connection in held:
            connection.release()


def wrong(code: str) -> str:
    return f"{(int(code) + 500_000) % 1_000_000:06d}"


@pytest.fixture(autouse=True)
def _this_tests_log(server):
    server.start = len(server.log_path.read_text(errors="replace"))


def test_one_code_signs_in_once_across_two_hosts_and_two_processes(server, committed_people):
    person = committed_people()
    north = Browser(server, council_host("north-test"), "203.0.113.10")
    south = Browser(server, council_host("south-test"), "203.0.113.20")
    for browser in (north, south):
        assert browser.give_password(person.email).headers["Location"] == SECOND_FACTOR
    code = totp_code_now(person.email)

    with each_worker_in_turn(server.port) as switch:
        assert north.give_code(code).status_code == 302
        switch()
        refused = south.give_code(code)

    assert refused.status_code == 200
    assert "Incorrect code" in refused.text
    assert north.http.get("/team/councils/").status_code == 200
    assert south.http.get("/team/councils/").status_code == 302
    north_pids = server.pids("POST", SECOND_FACTOR, north.host)
    south_pids = server.pids("POST", SECOND_FACTOR, south.host)
    assert len(north_pids) == len(south_pids) == 1 and north_pids != south_pids, server.log()


def test_wrong_codes_and_passwords_count_once_per_account_across_processes(
    server, committed_people, django_db_blocker
):
    person, other = committed_people(), committed_people()
    north = Browser(server, council_host("north-test"), "203.0.113.30")
    south = Browser(server, council_host("south-test"), "203.0.113.40")
    for browser in (north, south):
        assert browser.give_password(person.email).headers["Location"] == SECOND_FACTOR
    right = totp_code_now(person.email)

    with each_worker_in_turn(server.port) as switch:
        for _ in range(2):
            assert "Incorrect code" in north.give_code(wrong(right)).text
        switch()
        for _ in range(2):
            assert "Incorrect code" in south.give_code(wrong(right)).text
        switch()
        fifth = north.give_code(wrong(right))
        switch()
        locked = south.give_code(right)

    assert "two-factor sign-in to this account is locked until" in fifth.text
    assert "is locked until" in locked.text
    assert south.http.get("/team/councils/").status_code == 302
    with django_db_blocker.unblock():
        assert second_factor_lock.failures(person.pk) == 5
    pids = server.pids("POST", SECOND_FACTOR, north.host) | server.pids(
        "POST", SECOND_FACTOR, south.host
    )
    assert len(pids) == 2, server.log()

    # Wrong passwords likewise: five, over two hosts, two processes and five addresses, and the
    # right one is refused on either host.
    with each_worker_in_turn(server.port) as switch:
        for attempt in range(5):
            host = council_host("north-test" if attempt % 2 else "south-test")
            guesser = Browser(server, host, f"198.51.100.{attempt + 1}")
            assert "are not correct" in guesser.give_password(other.email, "wrong-guess").text
            switch()
        refused = Browser(server, council_host("north-test"), "198.51.100.99").give_password(
            other.email
        )
    assert "Too many failed login attempts" in refused.text
    assert refused.status_code == 200


def test_the_access_log_keeps_no_invitation_or_reset_token(server):
    north = council_host("north-test")
    join = f"/team/join/{TOKEN}/"
    referrer = f"http://{north}{join}"
    with httpx.Client(base_url=f"http://{LOOPBACK}:{server.port}", timeout=30) as http:
        assert http.get(join, headers={"Host": north, "Referer": referrer}).status_code == 403
        http.get(f"/accounts/password/reset/key/4-{TOKEN}/", headers={"Host": north})
        http.get(f"/accounts/confirm-email/{TOKEN}/", headers={"Host": north})

    wait_for(lambda: len(server.access_lines("GET", "/accounts/confirm-email/[redacted]/", north)))
    log = server.log()
    assert TOKEN not in log
    assert f'"GET /team/join/[redacted]/ HTTP/1.1" 403 "http://{north}/team/join/[redacted]/"' in (
        log
    )
    assert server.access_lines("GET", "/accounts/password/reset/key/[redacted]/", north)
