"""reports_*: each report over a month of a council taking 2,000,000 payments a year, through
the real view under gunicorn, against the same SQL replayed with psycopg in the same run.

Target (issue 13): each report's p95 within 1.5 times its SQL's p95 plus the floor any page
pays (a signed-in member's empty page, at p95), as the dashboard and search benchmarks
measure; the view over its SQL alone is printed beside it. `BENCH_REPORTS_RECEIPTS` sets the
year's payments (default 2,000,000).
"""

import datetime
import os

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
from tests.bench.page_timing import time_alternately, view_statements
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
        statements = {
            slug: view_statements(client, f"/reports/{slug}/", period) for slug in REPORTS
        }
        timings = {}
        with served as port:
            for slug in REPORTS:
                timings[slug] = time_alternately(
                    port, host, cookie, f"/reports/{slug}/", period, statements[slug],
                    council.schema_name,
                )  # fmt: skip
        for slug, timing in timings.items():
            ratio = timing.view_p95 / timing.reference
            verdict = "ok" if ratio <= TARGET_RATIO else "short"
            name = "reports_" + slug.replace("-", "_")
            print(
                f"BENCH {name} view_p95={timing.view_p95:.1f}ms "
                f"empty_plus_sql_p95={timing.reference:.1f}ms "
                f"ratio={ratio:.2f} target=<={TARGET_RATIO} {verdict}"
            )
            print(
                f"  {name}: empty page {timing.empty_p95:.1f}ms + SQL {timing.sql_p95:.1f}ms "
                f"at p95 ({len(statements[slug])} statements); the view over its SQL alone "
                f"{timing.view_p95 / timing.sql_p95:.2f}"
            )
