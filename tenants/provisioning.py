"""Building a council's schema: a spare built ahead from the release's snapshot, renamed
(tenants.spare_schemas); else the snapshot replayed (tenants.schema_snapshot); or, when there is
no usable snapshot, the migrations."""

import logging

from django.core.management import call_command
from django.db import DatabaseError, IntegrityError, ProgrammingError, connection

from tenants.models import Council
from tenants.placement import WorkerNode
from tenants.schema_names import validate_schema_name
from tenants.schema_snapshot import current_snapshot, replay
from tenants.spare_schemas import take_spare

logger = logging.getLogger(__name__)


def provision_schema(council: Council, *, loads: dict[WorkerNode, int] | None = None) -> bool:
    """Create the council's schema and bring it to the current release. Safe to repeat.

    True when it was built from the snapshot (a spare of it, or a replay), which brings the
    seeded defaults with it. `loads` (a Citus cluster's workers') choose between spares.
    """
    schema_name = council.schema_name
    validate_schema_name(schema_name)
    snapshot = current_snapshot()
    if not _schema_exists(schema_name):
        if snapshot is not None:
            try:
                if take_spare(schema_name, snapshot, loads=loads):
                    return True
            except DatabaseError:
                # Rolled back whole: the spare stays a spare, and the schema is built here.
                logger.exception("council %s: taking a spare schema failed", council.slug)
            # One transaction: after a crash the schema is either complete or absent.
            try:
                replay(snapshot, schema_name)
                return True
            except (IntegrityError, ProgrammingError):
                # Someone else built it at the same moment (their CREATE SCHEMA won): theirs
                # is complete, since a replay is one transaction. Carry on as for a retry.
                if not _schema_exists(schema_name):
                    raise
        else:
            council.create_schema(check_if_exists=True, verbosity=0)
            connection.set_schema_to_public()
            return False
    # It exists already (a retry, or an older council): bring it up to date unless it is.
    if snapshot is None or _applied_migrations(schema_name) != snapshot.migration_count:
        call_command("migrate_schemas", schema_name=schema_name, interactive=False, verbosity=0)
        connection.set_schema_to_public()
    return False


def _schema_exists(schema_name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema_name])
        return cursor.fetchone() is not None


def _applied_migrations(schema_name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM {connection.ops.quote_name(schema_name)}.django_migrations"  # noqa: S608
        )
        return cursor.fetchone()[0]
