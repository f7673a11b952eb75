"""search_*: receipt search over a council with millions of receipts, through the real view,
against the same SQL run directly with psycopg in the same run.

Targets (issue 4): p95 under 50 ms through the view, and within 1.5 times the SQL alone.
`BENCH_SEARCH_RECEIPTS` sets the size (default 5,000,000; loading takes a few minutes).
"""

import os
import re
import statistics
import time
from urllib.parse import urlencode

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from income.accounts import clearing_account, fund_account
from income.models import Channel
from tenants.actions.councils import council_host, create_council
from tenants.models import CouncilRole, Membership
from tests.bench.http_load import fetch_status, gunicorn, http_request
from tests.bench.receipt_load import load_receipts
from tests.factories import FundFactory, UserFactory

RECEIPTS = int(os.environ.get("BENCH_SEARCH_RECEIPTS", "5000000"))
REPEATS = 40
TARGET_RATIO = 1.5
TARGET_P95_MS = 50.0


@pytest.fixture(scope="module")
def search_council(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        council = create_council(name="Search Bench Council", slug="bench-search", acting_user=None)
        member = UserFactory()
        Membership.objects.create(user=member, council=council, role=CouncilRole.ADMIN)
        with schema_context(council.schema_name):
            funds = [FundFactory(code=f"F{n}") for n in range(7)]
            channels = list(Channel.objects.all())
            seconds = load_receipts(
                RECEIPTS,
                [fund_account(fund).pk for fund in funds],
                [clearing_account(channel).pk for channel in channels],
                [channel.pk for channel in channels],
            )
        print(f"\nsearch bench: loaded {RECEIPTS:,} receipts in {seconds:.0f}s")
        yield council, member, funds
        connection.set_schema_to_public()
        council.delete(force_drop=True)


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18] * 1000


def replay_seconds(statements: list[str], schema: str) -> list[float]:
    """The view's own SQL, statement for statement, straight through psycopg."""
    url = os.environ["DATABASE_URL"]
    samples = []
    with psycopg.connect(url, dbname=settings.DATABASES["default"]["NAME"]) as raw:
        raw.execute(f'SET search_path = "{schema}", public')
        for _ in range(REPEATS):
            started = time.perf_counter()
            for sql in statements:
                # A server-side cursor (Django's .iterator()) is replayed as its plain query.
                sql = re.sub(r'^DECLARE "[^"]+" NO SCROLL CURSOR WITH HOLD FOR ', "", sql)
                cursor = raw.execute(sql)
                if cursor.description:
                    cursor.fetchall()
            samples.append(time.perf_counter() - started)
    return samples


def view_statements(client: Client, params: dict) -> list[str]:
    """The SQL the view runs for `params`, captured in-process."""
    client.get("/receipts/", params)  # warm
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/receipts/", params).status_code == 200
    return [query["sql"] for query in captured.captured_queries]


def served_seconds(
    port: int, host: str, cookie: str, params: dict, path: str = "/receipts/"
) -> list[float]:
    """Wall time of the real view under gunicorn, one request after another."""
    request = (
        f"GET {path}?{urlencode(params)} HTTP/1.1\r\nHost: {host}\r\n"
        f"Cookie: {settings.SESSION_COOKIE_NAME}={cookie}\r\nConnection: close\r\n\r\n"
    ).encode()
    assert fetch_status(port, request) == 200  # warm
    samples = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        status = fetch_status(port, request)
        samples.append(time.perf_counter() - started)
        assert status == 200
    return samples


def explain(statement: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + statement)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_search_benchmarks(search_council, django_db_blocker, test_database_env, tmp_path):
    council, member, funds = search_council
    host = council_host(council.slug)
    with django_db_blocker.unblock():
        client = Client(HTTP_HOST=host)
        client.force_login(member)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
        with schema_context(council.schema_name), connection.cursor() as cursor:
            cursor.execute(
                "SELECT payer_reference, received_on FROM income_receipt WHERE id = %s",
                [RECEIPTS // 2],
            )
            reference, _ = cursor.fetchone()
            cursor.execute("SELECT max(received_on) FROM income_receipt")
            latest = cursor.fetchone()[0]
        cases = {
            "search_reference_exact": {"reference": reference},
            "search_reference_prefix": {"reference": reference[:7] + "*"},
            "search_payer_fragment": {"payer": "omasz kowal"},
            "search_amount_dates": {
                "amount": "123.45",
                "received_from": (latest.replace(day=1)).strftime("%d/%m/%Y"),
                "received_to": latest.strftime("%d/%m/%Y"),
            },
            "search_fund_dates": {
                "fund": str(funds[3].pk),
                "received_from": latest.replace(day=1).strftime("%d/%m/%Y"),
                "received_to": latest.strftime("%d/%m/%Y"),
            },
        }
        # The second page of a broad search: keyset pagination, no OFFSET.
        broad = client.get("/receipts/", {"received_from": "01/01/2000"})
        after = broad.context["next_query"].split("after=")[-1]
        cases["search_paginated"] = {"received_from": "01/01/2000", "after": after}

        served = gunicorn(
            "counterfoil.wsgi:application",
            env=test_database_env,
            log_path=tmp_path / "gunicorn.log",
            probe=http_request(host, "/health/live"),
            workers=1,
        )
        with served as port:
            # The floor: a signed-in member's empty page (HTTP, middleware, session, user and
            # membership) under the same server. No page can answer faster than this.
            empty_p95 = p95(served_seconds(port, host, cookie, {}, path="/health/live"))
            results = {
                name: (served_seconds(port, host, cookie, params), view_statements(client, params))
                for name, params in cases.items()
            }
        for name, (view, statements) in results.items():
            sql = replay_seconds(statements, council.schema_name)
            view_p95, sql_p95 = p95(view), p95(sql)
            ratio = view_p95 / sql_p95
            verdict = "ok" if ratio <= TARGET_RATIO and view_p95 < TARGET_P95_MS else "short"
            print(
                f"BENCH {name} view_p95={view_p95:.1f}ms sql_p95={sql_p95:.1f}ms "
                f"ratio={ratio:.2f} target=<={TARGET_RATIO} {verdict}"
            )
            print(
                f"  {name}: a signed-in empty page alone takes {empty_p95:.1f}ms at p95, "
                f"{empty_p95 / sql_p95:.2f} times this search's SQL"
            )
            search_sql = max(statements, key=len)
            with schema_context(council.schema_name):
                plan = explain(search_sql)
            print(f"  plan for {name}:\n    " + "\n    ".join(plan.splitlines()[:12]))
