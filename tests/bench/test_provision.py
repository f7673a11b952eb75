"""provision: a whole new council (schema from the release's DDL snapshot, its host name, its
seeded defaults, its rows in the public schema) against the physical limit measured in the same
run: `CREATE SCHEMA` plus a replay of the same DDL (without any rows) straight through psycopg.
Measured with 10 councils already on the platform and again with 500, alternating with the
reference so drift on a shared machine falls on both alike. The migrations are timed once, for
scale.
"""

import statistics
import time

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from psycopg.conninfo import make_conninfo

from tenants.actions.councils import council_host, create_council
from tenants.models import Council, CouncilStatus, Domain
from tenants.models.council import DomainVerification
from tenants.schema_snapshot import current_snapshot
from tests.bench.reporting import bench_line

TARGET = 1.5  # the issue's: within 1.5 times the DDL replay; never lowered to pass
FLAT_TARGET = 1.25  # "flat whether 10 or 500 councils already exist"
ROUNDS = 7
SMALL, LARGE = 10, 500


def _raw_connection() -> psycopg.Connection:
    """A plain psycopg connection to this session's test database."""
    import os

    dsn = make_conninfo(os.environ["DATABASE_URL"], dbname=settings.DATABASES["default"]["NAME"])
    return psycopg.connect(dsn, autocommit=True)


def _replay_raw(raw: psycopg.Connection, schema_name: str, *, with_rows: bool = False) -> float:
    """CREATE SCHEMA plus the DDL, in one transaction, as bare as it gets (the reference has
    no rows; the filler councils get the seeded defaults as well)."""
    snapshot = current_snapshot()
    script = snapshot.for_schema(schema_name) if with_rows else snapshot.ddl_for_schema(schema_name)
    started = time.perf_counter()
    with raw.transaction(), raw.cursor() as cursor:
        cursor.execute(script)
    return time.perf_counter() - started


def _provision(index: int) -> float:
    slug = f"bench-{index:04d}"
    started = time.perf_counter()
    create_council(name=f"Bench Council {index}", slug=slug, acting_user=None)
    return time.perf_counter() - started


def _existing_councils(raw: psycopg.Connection, upto: int) -> None:
    """Fill the platform up to `upto` councils the quick way (raw replay and bulk rows): what
    is measured is provisioning beside them, not making them."""
    have = Council.objects.count()
    for number in range(have, upto):
        slug = f"filler-{number:04d}"
        schema_name = f"council_filler_{number:04d}"
        _replay_raw(raw, schema_name, with_rows=True)
        council = Council.objects.create(
            name=f"Filler {number}", slug=slug, schema_name=schema_name,
            status=CouncilStatus.ACTIVE, provisioning_state="ready",
        )  # fmt: skip
        Domain.objects.create(
            domain=council_host(slug), tenant=council, is_primary=True,
            verified_at=timezone.now(), verification_method=DomainVerification.PLATFORM,
        )  # fmt: skip


def _measure(raw: psycopg.Connection, first_index: int) -> tuple[float, float]:
    ours, reference = [], []
    for round_number in range(ROUNDS):
        index = first_index + round_number
        reference.append(_replay_raw(raw, f"council_reference_{index:04d}"))
        ours.append(_provision(index))
    return statistics.median(ours) * 1000, statistics.median(reference) * 1000


@pytest.fixture
def committed(django_db_setup, django_db_blocker):
    """Outside any test transaction, as provisioning runs for real (and the session's test
    database is dropped at the end)."""
    with django_db_blocker.unblock():
        yield


def test_provision(committed: None) -> None:
    current_snapshot()  # built once per release, before anything is timed
    raw = _raw_connection()
    try:
        started = time.perf_counter()
        Council(schema_name="council_by_migrations").create_schema(verbosity=0)
        migrations_ms = (time.perf_counter() - started) * 1000
        connection.set_schema_to_public()

        _existing_councils(raw, SMALL)
        _provision(9999)  # warm: imports, the snapshot cache, the seeders' first queries
        small_ours, small_reference = _measure(raw, 0)
        _existing_councils(raw, LARGE)
        large_ours, large_reference = _measure(raw, 100)
    finally:
        raw.close()

    print(
        f"\nprovision: {SMALL} councils: {small_ours:.0f} ms (DDL replay {small_reference:.0f} ms);"
        f" {LARGE} councils: {large_ours:.0f} ms (DDL replay {large_reference:.0f} ms);"
        f" running the migrations instead: {migrations_ms:.0f} ms; median of {ROUNDS}"
    )
    print(
        bench_line(
            "provision",
            ("council_ms", large_ours, "ms"),
            ("ddl_replay_ms", large_reference, "ms"),
            target=TARGET,
            op="<=",
        )
    )
    # Flat: our time relative to the DDL replay beside it, at 500 councils against at 10. Each
    # size is divided by its own reference, measured alternately with it, so what else the
    # machine was doing during one size and not the other does not count as growth.
    small_ratio, large_ratio = small_ours / small_reference, large_ours / large_reference
    growth = large_ratio / small_ratio
    verdict = "ok" if growth <= FLAT_TARGET else "short"
    print(
        f"BENCH provision_flat at_{LARGE}={large_ratio:.2f}x_replay "
        f"at_{SMALL}={small_ratio:.2f}x_replay ratio={growth:.2f} "
        f"target=<={FLAT_TARGET:g} {verdict}"
    )
