"""Bringing every council's schema to the current release, skipping those already there.

Stock `migrate_schemas` loads and checks the migration graph for every council, current or not,
so an upgrade costs the same for 400 councils whether one migration is new or none. Here one
query counts the migrations each council's schema has recorded; only those short of the
release's count (the schema snapshot's, tenants.schema_snapshot) are migrated, several at once
in separate processes.

On a Citus cluster a council's schema lives on one worker: while a worker does not answer, its
councils cannot be read or migrated, and since Citus applies every schema change on every
worker, no migration that changes tables can run anywhere. Each council that could not be
migrated is reported with the reason, the rest carry on, and running it again finishes the job.
"""

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from psycopg.conninfo import make_conninfo

from tenants.models import Council
from tenants.schema_names import validate_schema_name
from tenants.schema_snapshot import current_snapshot
from tenants.unreachable_nodes import node_named_in


@dataclass(frozen=True)
class SchemaMigrationState:
    schema_name: str
    applied: int
    expected: int
    # Why its migrations could not be counted (its node did not answer); None when they were.
    unreadable: str | None = None

    @property
    def current(self) -> bool:
        return self.unreadable is None and self.applied == self.expected


def council_migration_states() -> list[SchemaMigrationState]:
    """Every council schema that exists, with how many migrations it has recorded."""
    snapshot = current_snapshot()
    if snapshot is None:
        raise RuntimeError("No schema snapshot for this release: use migrate_schemas.")
    schema_names = list(Council.objects.values_list("schema_name", flat=True))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relname = 'django_migrations' AND n.nspname = ANY(%s)",
            [schema_names],
        )
        with_table = sorted(row[0] for row in cursor.fetchall())
        if not with_table:
            return []
        for name in with_table:
            validate_schema_name(name)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(map(_count_migrations, with_table)), with_table)
            counts: dict[str, int | str] = dict(cursor.fetchall())
    except DatabaseError:
        counts = {name: _count_one(name) for name in with_table}  # which ones, and why
    return [
        SchemaMigrationState(name, count, snapshot.migration_count)
        if isinstance(count, int)
        else SchemaMigrationState(name, 0, snapshot.migration_count, unreadable=count)
        for name, count in counts.items()
    ]


def _count_migrations(schema_name: str) -> str:
    return f"SELECT %s, count(*) FROM {connection.ops.quote_name(schema_name)}.django_migrations"  # noqa: S608


def _count_one(schema_name: str) -> int | str:
    """The schema's count of applied migrations, or why it could not be read."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_count_migrations(schema_name), [schema_name])
            return cursor.fetchone()[1]
    except DatabaseError as error:
        return failure_reason(str(error))


def failure_reason(error_text: str) -> str:
    """One line for an operator: the node that did not answer, or the error's last line."""
    node = node_named_in(error_text)
    if node:
        return f"database node {node} did not answer"
    lines = [line.strip() for line in error_text.strip().splitlines() if line.strip()]
    return (lines[-1] if lines else "failed without saying why")[:300]


def migrate_outdated(schema_names: list[str], *, jobs: int) -> dict[str, str | None]:
    """Run `migrate_schemas` for each schema, `jobs` at a time, each in a process of its own.
    Returns for each schema None when it was migrated, else why not (tenants.upgrades)."""

    # The child processes use this process's database server and database (a test run's, too).
    database = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": make_conninfo(
            os.environ.get("DATABASE_URL", ""),
            dbname=database["NAME"],
            **{key.lower(): str(database[key]) for key in ("HOST", "PORT") if database.get(key)},
        ),
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "counterfoil.settings"),
    }

    def migrate(schema_name: str) -> tuple[str, str | None]:
        validate_schema_name(schema_name)
        command = [
            sys.executable, "-m", "django", "migrate_schemas",
            f"--schema={schema_name}", "--noinput", "--verbosity=0",
        ]  # fmt: skip
        done = subprocess.run(command, env=env, check=False, capture_output=True, text=True)  # noqa: S603
        if done.returncode == 0:
            return schema_name, None
        return schema_name, failure_reason(done.stderr or f"exit status {done.returncode}")

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return dict(pool.map(migrate, schema_names))
