"""Bringing every council's schema to the current release, skipping those already there.

Stock `migrate_schemas` loads and checks the migration graph for every council, current or not,
so an upgrade costs the same for 400 councils whether one migration is new or none. Here one
query counts the migrations each council's schema has recorded; only those short of the
release's count (the schema snapshot's, tenants.schema_snapshot) are migrated, several at once
in separate processes.
"""

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from psycopg.conninfo import make_conninfo

from tenants.models import Council
from tenants.schema_names import validate_schema_name
from tenants.schema_snapshot import current_snapshot


@dataclass(frozen=True)
class SchemaMigrationState:
    schema_name: str
    applied: int
    expected: int

    @property
    def current(self) -> bool:
        return self.applied == self.expected


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
        cursor.execute(
            " UNION ALL ".join(
                f"SELECT %s, count(*) FROM {connection.ops.quote_name(name)}.django_migrations"  # noqa: S608
                for name in with_table
            ),
            with_table,
        )
        counts = dict(cursor.fetchall())
    return [
        SchemaMigrationState(name, counts[name], snapshot.migration_count) for name in with_table
    ]


def migrate_outdated(schema_names: list[str], *, jobs: int) -> dict[str, int]:
    """Run `migrate_schemas` for each schema, `jobs` at a time, each in a process of its own.
    Returns each schema's exit status."""

    # The child processes use this process's database (a test run's, too).
    env = {
        **os.environ,
        "DATABASE_URL": make_conninfo(
            os.environ.get("DATABASE_URL", ""), dbname=settings.DATABASES["default"]["NAME"]
        ),
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "counterfoil.settings"),
    }

    def migrate(schema_name: str) -> tuple[str, int]:
        validate_schema_name(schema_name)
        command = [
            sys.executable, "-m", "django", "migrate_schemas",
            f"--schema={schema_name}", "--noinput", "--verbosity=0",
        ]  # fmt: skip
        return schema_name, subprocess.run(command, env=env, check=False).returncode  # noqa: S603

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return dict(pool.map(migrate, schema_names))
