"""Timing a page through the real view under gunicorn against its own SQL replayed with
psycopg, and the floor under both: a signed-in member's empty page on the same server."""

import os
import re
import statistics
import time
from dataclasses import dataclass
from urllib.parse import urlencode

import psycopg
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.bench.http_load import fetch_status

REPEATS = 40
# The floor: a signed-in member's page with nothing of its own to read (the reports' list:
# the session, the member and the council's layout, no query of its own).
EMPTY_PAGE = "/reports/"


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18] * 1000


def raw_connection(schema: str) -> psycopg.Connection:
    raw = psycopg.connect(os.environ["DATABASE_URL"], dbname=settings.DATABASES["default"]["NAME"])
    raw.execute(f'SET search_path = "{schema}", public')
    return raw


def replay_on(raw: psycopg.Connection, statements: list[str], repeats: int) -> list[float]:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        for sql in statements:
            # A server-side cursor (Django's .iterator()) is replayed as its plain query.
            sql = re.sub(r'^DECLARE "[^"]+" NO SCROLL CURSOR WITH HOLD FOR ', "", sql)
            cursor = raw.execute(sql)
            if cursor.description:
                cursor.fetchall()
        samples.append(time.perf_counter() - started)
    return samples


def replay_seconds(statements: list[str], schema: str, repeats: int = REPEATS) -> list[float]:
    """The view's own SQL, statement for statement, straight through psycopg."""
    with raw_connection(schema) as raw:
        return replay_on(raw, statements, repeats)


@dataclass(frozen=True)
class PageTiming:
    view_p95: float
    empty_p95: float
    sql_p95: float

    @property
    def reference(self) -> float:
        """What no page can beat: the empty page's floor plus the page's own SQL."""
        return self.empty_p95 + self.sql_p95


def time_alternately(
    port: int,
    host: str,
    cookie: str,
    path: str,
    params: dict,
    statements: list[str],
    schema: str,
    *,
    rounds: int = 8,
    per_round: int = 5,
) -> PageTiming:
    """The page, the signed-in empty page and the page's SQL replayed, in alternating short
    rounds: on a shared machine load comes and goes in bursts, and short rounds spread each
    burst over all three instead of one."""
    view, empty, sql = [], [], []
    with raw_connection(schema) as raw:
        replay_on(raw, statements, 1)  # warm
        for _ in range(rounds):
            view += served_seconds(port, host, cookie, params, path, repeats=per_round)
            empty += served_seconds(port, host, cookie, {}, EMPTY_PAGE, repeats=per_round)
            sql += replay_on(raw, statements, per_round)
    return PageTiming(p95(view), p95(empty), p95(sql))


def view_statements(client: Client, path: str, params: dict) -> list[str]:
    """The SQL the view runs for `params`, captured in-process."""
    client.get(path, params)  # warm
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path, params).status_code == 200
    return [query["sql"] for query in captured.captured_queries]


def served_seconds(
    port: int, host: str, cookie: str, params: dict, path: str, repeats: int = REPEATS
) -> list[float]:
    """Wall time of the real view under gunicorn, one request after another."""
    query = f"?{urlencode(params)}" if params else ""
    request = (
        f"GET {path}{query} HTTP/1.1\r\nHost: {host}\r\n"
        f"Cookie: {settings.SESSION_COOKIE_NAME}={cookie}\r\nConnection: close\r\n\r\n"
    ).encode()
    assert fetch_status(port, request) == 200  # warm
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        status = fetch_status(port, request)
        samples.append(time.perf_counter() - started)
        assert status == 200
    return samples


def explain(statement: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + statement)
        return "\n".join(row[0] for row in cursor.fetchall())
