"""restore: `restore_council` of a council holding BENCH_RESTORE_RECEIPTS receipts (default
1,000,000, each with its journal and two postings) onto another platform's database, against
`pg_restore` alone of the same dump into another such database (its public schema migrated and
no council: the tables the council's point at must be there).

Target (issue 18): the restore runs at no less than half of pg_restore's speed (the ratio is
pg_restore's time over ours), though ours also checks every file's SHA-256 before it starts and
every table's row count and checksum after.
"""

import io
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django_tenants.utils import schema_context
from psycopg.conninfo import make_conninfo

from tenants.actions.councils import create_council
from tenants.backups import SCHEMA_DUMP, libpq_environment, pg_tool
from tests.bench.receipt_load import load_receipts_into_seven_funds
from tests.bench.reporting import bench_line

RECEIPTS = int(os.environ.get("BENCH_RESTORE_RECEIPTS", "1000000"))
REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.fixture
def backed_up_council(django_db_setup, django_db_blocker, tmp_path):
    with django_db_blocker.unblock():
        council = create_council(
            name="Restore Bench Council", slug=f"rst-{secrets.token_hex(3)}", acting_user=None
        )
        with schema_context(council.schema_name):
            _funds, seconds = load_receipts_into_seven_funds(RECEIPTS)
        print(f"\nrestore bench: loaded {RECEIPTS:,} receipts in {seconds:.0f}s")
        folder = tmp_path / "backup"
        started = time.perf_counter()
        call_command("backup_council", council.slug, str(folder), stdout=io.StringIO())
        print(f"restore bench: backup in {time.perf_counter() - started:.1f}s")
        yield council, folder
        connection.set_schema_to_public()
        council.delete(force_drop=True)


def _empty_database(name: str, *, migrated: bool) -> str:
    admin = make_conninfo(os.environ["DATABASE_URL"], dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as server:
        server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.execute(f'CREATE DATABASE "{name}"')
    url = make_conninfo(os.environ["DATABASE_URL"], dbname=name)
    if migrated:
        subprocess.run(
            [sys.executable, "manage.py", "migrate_schemas", "--shared", "--noinput", "-v", "0"],
            cwd=REPOSITORY, env=_environment(url), check=True, capture_output=True,
        )  # fmt: skip
    return url


def _drop(name: str) -> None:
    admin = make_conninfo(os.environ["DATABASE_URL"], dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as server:
        server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _environment(url: str) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "counterfoil.settings"}
    env.pop("TEST_DATABASE_NAME", None)
    return env


def test_restore(backed_up_council):
    council, folder = backed_up_council
    base = settings.DATABASES["default"]["NAME"]
    bare, platform = f"{base}_bare_restore", f"{base}_platform_restore"
    try:
        _empty_database(bare, migrated=True)
        started = time.perf_counter()
        subprocess.run(
            [pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
             f"--dbname={bare}", str(folder / SCHEMA_DUMP)],
            env=libpq_environment(), check=True, capture_output=True,
        )  # fmt: skip
        pg_restore_seconds = time.perf_counter() - started

        platform_url = _empty_database(platform, migrated=True)
        started = time.perf_counter()
        restored = subprocess.run(
            [sys.executable, "manage.py", "restore_council", str(folder)],
            cwd=REPOSITORY, env=_environment(platform_url), capture_output=True, text=True,
        )  # fmt: skip
        ours_seconds = time.perf_counter() - started
        assert restored.returncode == 0, restored.stderr
        with psycopg.connect(platform_url) as other:
            (count,) = other.execute(
                f'SELECT count(*) FROM "{council.schema_name}".income_receipt'  # noqa: S608
            ).fetchone()
        assert count == RECEIPTS
    finally:
        _drop(bare)
        _drop(platform)
    print(
        f"restore bench: pg_restore {pg_restore_seconds:.1f}s; restore_council "
        f"{ours_seconds:.1f}s (a process starting, checksums, pg_restore, public rows, every "
        "table checked)"
    )
    print(
        bench_line(
            "restore",
            ("rows_per_s", RECEIPTS / ours_seconds, ""),
            ("pg_restore_rows_per_s", RECEIPTS / pg_restore_seconds, ""),
            target=0.5,
        )
    )
