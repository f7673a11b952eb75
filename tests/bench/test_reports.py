"""reports_*: each report over a month of a council taking 2,000,000 payments a year, through
the real view under gunicorn, against the same SQL replayed with psycopg in the same run.

Target (issue 13): each report's p95 within 1.5 times its SQL's p95 plus the floor any page
pays (a signed-in member's empty page, at p95), as the dashboard and search benchmarks
measure; the view over its SQL alone is printed beside it. `BENCH_REPORTS_RECEIPTS` sets the
year's payments (default 2,000,000).
"""

import datetime
import os
import statistics
import time

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from income.accounts import clearing_account, fund_account, suspense_account
from income.daily_totals import compact_daily_totals
from income.models import Channel
from income.reports.catalogue import REPORTS
from tenants.actions.councils import council_host, create_council
from tenants.models import CouncilRole, Membership
from tests.bench.http_load import gunicorn, http_request
from tests.bench.page_timing import (
    EMPTY_PAGE,
    p95,
    replay_seconds,
    served_seconds,
    view_statements,
)
from tests.bench.receipt_load import load_receipts
from tests.bench.report_load import load_month_extras
from tests.factories import FundFactory, UserFactory

RECEIPTS = int(os.environ.get("BENCH_REPORTS_RECEIPTS", "2000000"))
TARGET_RATIO = 1.5
MONTH_DAYS = 30


@pytest.fixture(scope="module")
def reports_council(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        council = create_council(
            name="Reports Bench Council", slug="bench-reports", acting_user=None
        )
        member = UserFactory()
        Membership.objects.create(user=member, council=council, role=CouncilRole.AUDITOR)
        with schema_context(council.schema_name):
            funds = [fund_account(FundFactory(code=f"F{n}")).pk for n in range(7)]
            channels = list(Channel.objects.all())
            # One payment in fifty waits in suspense.
            seconds = load_receipts(
                RECEIPTS,
                funds * 7 + [suspense_account().pk],
                [clearing_account(channel).pk for channel in channels],
                [channel.pk for channel in channels],
                days=365,
            )
            with connection.cursor() as cursor:
                cursor.execute("SELECT max(received_on) FROM income_receipt")
                end = cursor.fetchone()[0]
            start = end - datetime.timedelta(days=MONTH_DAYS - 1)
            load_month_extras(start, end)
            compact_daily_totals()
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        print(f"\nreports bench: loaded {RECEIPTS:,} receipts over a year in {seconds:.0f}s")
        yield council, member, start, end
        connection.set_schema_to_public()
        council.delete(force_drop=True)


def test_reports_benchmarks(reports_council, django_db_blocker, test_database_env, tmp_path):
    council, member, start, end = reports_council
    host = council_host(council.slug)
    period = {"start": start.isoformat(), "end": end.isoformat()}
    with django_db_blocker.unblock():
        client = Client(HTTP_HOST=host)
        client.force_login(member)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
        served = gunicorn(
            "counterfoil.wsgi:application",
            env=test_database_env,
            log_path=tmp_path / "gunicorn.log",
            probe=http_request(host, "/health/live"),
            workers=1,
        )
        results = {}
        with served as port:
            empty_p95 = p95(served_seconds(port, host, cookie, {}, path=EMPTY_PAGE))
            for slug in REPORTS:
                path = f"/reports/{slug}/"
                results[slug] = (
                    served_seconds(port, host, cookie, period, path=path),
                    view_statements(client, path, period),
                )
        in_process = {}
        for slug in REPORTS:
            samples = []
            for _ in range(10):
                started = time.perf_counter()
                client.get(f"/reports/{slug}/", period)
                samples.append(time.perf_counter() - started)
            in_process[slug] = statistics.median(samples) * 1000
        for slug, (view, statements) in results.items():
            sql_p95 = p95(replay_seconds(statements, council.schema_name))
            view_p95 = p95(view)
            reference = empty_p95 + sql_p95
            ratio = view_p95 / reference
            verdict = "ok" if ratio <= TARGET_RATIO else "short"
            name = "reports_" + slug.replace("-", "_")
            print(
                f"BENCH {name} view_p95={view_p95:.1f}ms empty_plus_sql_p95={reference:.1f}ms "
                f"ratio={ratio:.2f} target=<={TARGET_RATIO} {verdict}"
            )
            print(
                f"  {name}: empty page {empty_p95:.1f}ms + SQL {sql_p95:.1f}ms at p95 "
                f"({len(statements)} statements); view over its SQL alone "
                f"{view_p95 / sql_p95:.2f}; in-process median {in_process[slug]:.1f}ms"
            )
