"""dashboard: a council's dashboard over millions of receipts, through the real view under
gunicorn, against the floor every page pays (a signed-in member's empty page) plus the
dashboard's own SQL replayed with psycopg, all in the same run.

Target (issue 13): the dashboard's p95 within 1.5 times that reference. It reads the day
totals the ledger keeps as it is written (income.models.daily_totals), folded as the
worker's periodic task folds them. `BENCH_DASHBOARD_RECEIPTS` sets the size (default
5,000,000; loading takes several minutes).
"""

import os
import time

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from income.daily_totals import compact_daily_totals
from income.models import DailyAccountTotal
from tenants.actions.councils import council_host, create_council
from tenants.models import CouncilRole, Membership
from tests.bench.http_load import gunicorn, http_request
from tests.bench.page_timing import explain, time_alternately, view_statements
from tests.bench.receipt_load import load_receipts_into_seven_funds
from tests.factories import UserFactory

RECEIPTS = int(os.environ.get("BENCH_DASHBOARD_RECEIPTS", "5000000"))
TARGET_RATIO = 1.5


@pytest.fixture(scope="module")
def dashboard_council(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        council = create_council(
            name="Dashboard Bench Council", slug="bench-dashboard", acting_user=None
        )
        member = UserFactory()
        Membership.objects.create(user=member, council=council, role=CouncilRole.FINANCE_MANAGER)
        with schema_context(council.schema_name):
            _funds, seconds = load_receipts_into_seven_funds(RECEIPTS)
            rows_before = DailyAccountTotal.objects.count()
            started = time.perf_counter()
            compact_daily_totals()
            fold_seconds = time.perf_counter() - started
            print(
                f"\ndashboard bench: loaded {RECEIPTS:,} receipts in {seconds:.0f}s; folded "
                f"{rows_before:,} day-total rows into {DailyAccountTotal.objects.count():,} "
                f"in {fold_seconds:.2f}s"
            )
        yield council, member
        connection.set_schema_to_public()
        council.delete(force_drop=True)


def test_dashboard_benchmark(dashboard_council, django_db_blocker, test_database_env, tmp_path):
    council, member = dashboard_council
    host = council_host(council.slug)
    with django_db_blocker.unblock():
        client = Client(HTTP_HOST=host)
        client.force_login(member)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
        statements = view_statements(client, "/", {})
        served = gunicorn(
            "counterfoil.wsgi:application",
            env=test_database_env,
            log_path=tmp_path / "gunicorn.log",
            probe=http_request(host, "/health/live"),
            workers=1,
        )
        with served as port:
            timing = time_alternately(
                port, host, cookie, "/", {}, statements, council.schema_name, rounds=10
            )
        ratio = timing.view_p95 / timing.reference
        verdict = "ok" if ratio <= TARGET_RATIO else "short"
        print(
            f"BENCH dashboard view_p95={timing.view_p95:.1f}ms "
            f"empty_plus_sql_p95={timing.reference:.1f}ms "
            f"ratio={ratio:.2f} target=<={TARGET_RATIO} {verdict}"
        )
        print(
            f"  dashboard: empty page {timing.empty_p95:.1f}ms + SQL {timing.sql_p95:.1f}ms at "
            f"p95 ({len(statements)} statements) over {RECEIPTS:,} receipts"
        )
        with schema_context(council.schema_name):
            for statement in sorted(statements, key=len, reverse=True)[:3]:
                if statement.lstrip().upper().startswith("SELECT"):
                    plan = explain(statement)
                    print("  plan:\n    " + "\n    ".join(plan.splitlines()[:10]))
