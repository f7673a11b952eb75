"""billing_usage: the daily usage count (billing.actions.metering.count_usage, the transactions
and stored-bytes queries metering runs for each council) over `BENCH_BILLING_COUNCILS` councils
(default 400) of `BENCH_BILLING_RECEIPTS` receipts each (default 50,000), against the same two
counts as raw SQL through psycopg on the same schemas, alternately council by council.

Loading 400 x 50,000 = 20 million receipts journal by journal would take this 2-core machine
far too long, so one council is loaded for real (receipts, journals and postings, through
tests.bench.receipt_load) and every other council is a real council (provisioned from the
release's DDL snapshot, as test_provision's filler councils are) whose receipt table is filled
by `INSERT ... SELECT` from the first: the table the count reads holds the same 50,000 rows
with the index the count uses; the search indexes (trigrams, reference prefix, amount) the
count never reads are left off the clones, and their journals and postings (never read either)
are not copied, so foreign-key checks are off for that copy only
(`session_replication_role = replica`).
"""

import os
import statistics
import time
from datetime import timedelta

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context
from psycopg import sql
from psycopg.conninfo import make_conninfo

from billing.actions.metering import count_usage
from tenants.actions.councils import create_council
from tenants.models import Council, CouncilStatus
from tenants.schema_snapshot import current_snapshot
from tests.bench.receipt_load import load_receipts_into_seven_funds
from tests.bench.reporting import bench_line

COUNCILS = int(os.environ.get("BENCH_BILLING_COUNCILS", "400"))
RECEIPTS = int(os.environ.get("BENCH_BILLING_RECEIPTS", "50000"))
TARGET_RATIO = 1.5  # the issue's: within 1.5 times the raw SQL; never lowered to pass
TARGET_SECONDS = 0.1  # the issue's: under 0.1 s per council


@pytest.fixture
def committed(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        yield


def _raw_connection() -> psycopg.Connection:
    dsn = make_conninfo(os.environ["DATABASE_URL"], dbname=settings.DATABASES["default"]["NAME"])
    return psycopg.connect(dsn, autocommit=True)


# Search indexes the count never reads: left off the clones, which would otherwise spend most
# of the load building them (the count's plan uses receipt_date_id, which they keep).
SEARCH_INDEXES = ("receipt_payer_name_date", "receipt_reference_prefix", "receipt_amount_date")


def _councils(raw: psycopg.Connection) -> tuple[list[Council], float]:
    """The councils, and the seconds the first (the one loaded for real) took."""
    started = time.perf_counter()
    first = create_council(name="Usage Bench 0000", slug="usage-0000", acting_user=None)
    with schema_context(first.schema_name):
        load_receipts_into_seven_funds(RECEIPTS)
    connection.set_schema_to_public()
    first_seconds = time.perf_counter() - started
    councils = [first]
    snapshot = current_snapshot()
    for number in range(1, COUNCILS):
        schema_name = f"council_usage_{number:04d}"
        # A council as provisioning builds it (the release's DDL snapshot and seeded rows),
        # made the quick way as test_provision's filler councils are.
        with raw.transaction(), raw.cursor() as cursor:
            cursor.execute(snapshot.for_schema(schema_name))
            for index in SEARCH_INDEXES:
                cursor.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(schema_name, index)))
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute(
                sql.SQL("INSERT INTO {} SELECT * FROM {}").format(
                    sql.Identifier(schema_name, "income_receipt"),
                    sql.Identifier(first.schema_name, "income_receipt"),
                )
            )
            cursor.execute(
                sql.SQL("ANALYZE {}").format(sql.Identifier(schema_name, "income_receipt"))
            )
        councils.append(
            Council.objects.create(
                name=f"Usage Bench {number:04d}",
                slug=f"usage-{number:04d}",
                schema_name=schema_name,
                status=CouncilStatus.ACTIVE,
                provisioning_state="ready",
            )
        )
    return councils, first_seconds


RAW_TRANSACTIONS = "SELECT count(*) FROM {}.income_receipt WHERE received_on = %s"
RAW_STORAGE = (
    "SELECT (SELECT coalesce(sum(size_bytes), 0) FROM {s}.income_importbatch"
    " WHERE uploaded_at < %s) + (SELECT coalesce(sum(size_bytes), 0) FROM {s}.income_exportrun"
    " WHERE created_at < %s)"
)


def _raw_count(raw: psycopg.Connection, schema: str, day, end) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with raw.cursor() as cursor:
        cursor.execute(sql.SQL(RAW_TRANSACTIONS).format(sql.Identifier(schema)), [day])
        receipts = cursor.fetchone()[0]
        cursor.execute(sql.SQL(RAW_STORAGE).format(s=sql.Identifier(schema)), [end, end])
        stored = cursor.fetchone()[0]
    return receipts, int(stored)


def test_billing_usage(committed: None) -> None:
    started = time.perf_counter()
    raw = _raw_connection()
    councils, first_seconds = _councils(raw)
    load_seconds = time.perf_counter() - started
    # The load spreads receipts over three years back from today; count a day it filled.
    day = timezone.localdate() - timedelta(days=31)
    end = timezone.now()
    ours, reference = [], []
    try:
        count_usage(councils[0], day)  # warm: imports and the first query plans
        for number, council in enumerate(councils):
            # Alternately first and second, so neither always meets the council's table cold.
            for ours_turn in (True, False) if number % 2 else (False, True):
                began = time.perf_counter()
                if ours_turn:
                    counted = count_usage(council, day)
                    ours.append(time.perf_counter() - began)
                else:
                    expected = _raw_count(raw, council.schema_name, day, end)
                    reference.append(time.perf_counter() - began)
            assert tuple(counted.values()) == expected
            assert expected[0] > 0
    finally:
        raw.close()
        connection.set_schema_to_public()
    per_council, raw_per_council = statistics.mean(ours), statistics.mean(reference)
    slowest = max(ours)
    print(
        f"\nbilling_usage: {len(councils)} councils of {RECEIPTS:,} receipts (loaded in "
        f"{load_seconds:.0f} s, the first {first_seconds:.0f} s of it); counting one day took "
        f"{per_council * 1e6:.0f} µs per council "
        f"on average (slowest {slowest * 1e3:.1f} ms, target under {TARGET_SECONDS * 1e3:.0f} ms)"
        f", raw SQL {raw_per_council * 1e6:.0f} µs"
    )
    print(
        bench_line(
            "billing_usage",
            ("count_us_per_council", per_council * 1e6, "us"),
            ("raw_sql_us_per_council", raw_per_council * 1e6, "us"),
            target=TARGET_RATIO,
            op="<=",
        )
    )
    verdict = "ok" if slowest < TARGET_SECONDS else "short"
    print(
        f"BENCH billing_usage_per_council slowest_ms={slowest * 1e3:.1f}ms "
        f"target=<{TARGET_SECONDS * 1e3:.0f}ms {verdict}"
    )
