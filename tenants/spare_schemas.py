"""Council schemas built ahead of need, so that a new council's schema is a rename.

Building a council's schema means replaying the release's snapshot (tenants.schema_snapshot).
On one server that takes about a quarter of a second whatever the platform holds. On a Citus
cluster it takes a second or more, and grows with the councils already there: each new table
with foreign keys makes Citus rebuild its graph of every foreign key in the database and drop
its cached entry of every distributed table, on the coordinator and on each worker. That is
Citus's own work, in a fixed number of statements per council, and nothing on our side of the
DDL avoids it (README, "Growing beyond one server": "A new council takes a schema built
ahead of it").

So a few schemas are built before anyone needs them, each under a name of its own
(`spare_<hex>`) and recorded with the snapshot state it was built from. A new council takes one
of the current state (on a cluster, the one on the least-loaded worker), renames it to its own
schema name and points its functions' search paths at the new name, in one transaction; then
the pool is topped up in the background (the `tenants.replenish_spare_schemas` task). A spare
of an older release is never taken and is dropped when the pool is next topped up; with none
left of the current state, provisioning builds the schema itself as before.

A spare is not a council: no council row, no host name, nothing routes to it. After the
rename, no function of the schema may still name the spare (else the take is rolled back and
the council builds its own); tests/tenants/test_spare_schemas.py compares a taken spare with a
schema replayed under the council's name, object by object.
"""

import logging
import secrets
from dataclasses import dataclass

from django.db import DatabaseError, connection, transaction
from django_tenants.utils import get_public_schema_name, schema_context

from tenants.models import SpareSchema
from tenants.placement import WorkerNode, council_node, least_loaded_worker, on_citus
from tenants.schema_names import validate_schema_name
from tenants.schema_snapshot import Snapshot, current_snapshot, replay

logger = logging.getLogger(__name__)

SPARE_PREFIX = "spare_"
# Any 32-bit number: held while the pool is topped up, so that two workers do not both build.
REPLENISH_LOCK = 7_301_113
# The functions' settings that name the schema (income's trigger functions).
_SEARCH_PATHS = """
SELECT p.oid::regprocedure::text, substr(setting, length('search_path=') + 1)
FROM pg_proc p, unnest(p.proconfig) AS setting
WHERE p.pronamespace = %s::oid AND setting LIKE 'search_path=%%'
"""
# What still names the spare as text after the rename: function bodies and settings. Found
# through the schema's own functions (an index), not by a condition over every council's
# catalogue rows: a check that also deparsed every constraint and default took a second at 400
# councils. Objects referred to by oid print their new names; tests/tenants/test_spare_schemas
# compares a taken spare with a replayed schema object by object (trigger arguments included).
_LEFT_BEHIND = """
SELECT proname FROM pg_proc WHERE pronamespace = %(schema)s::oid
AND (prosrc LIKE %(pattern)s OR array_to_string(proconfig, ',') LIKE %(pattern)s)
"""


@dataclass(frozen=True)
class Replenished:
    built: list[str]
    dropped: list[str]


def spare_name() -> str:
    name = f"{SPARE_PREFIX}{secrets.token_hex(6)}"
    validate_schema_name(name)
    return name


def build_spare(snapshot: Snapshot) -> str:
    """Replay the snapshot under a new spare name and record it, in one transaction."""
    name = spare_name()
    with schema_context(get_public_schema_name()), transaction.atomic():
        replay(snapshot, name)
        SpareSchema.objects.create(schema_name=name, state=snapshot.state)
    return name


def take_spare(
    schema_name: str, snapshot: Snapshot, *, loads: dict[WorkerNode, int] | None = None
) -> str | None:
    """Rename a spare of the snapshot's state to `schema_name`, in one transaction; the
    spare's name, or None when there is none to take (the caller then builds the schema).

    On a Citus cluster `loads` (the workers', tenants.placement) rank the spares: the one on
    the least-loaded worker first. A spare another provisioning holds is skipped."""
    validate_schema_name(schema_name)
    with schema_context(get_public_schema_name()), transaction.atomic():
        for candidate in _ranked_spares(snapshot.state, loads):
            spare = (
                SpareSchema.objects.select_for_update(skip_locked=True)
                .filter(schema_name=candidate, state=snapshot.state)
                .first()
            )
            if spare is None:
                continue
            _rename(spare.schema_name, schema_name)
            spare.delete()
            return candidate
    return None


def replenish(target: int) -> Replenished:
    """Drop the spares of other releases, then build spares of this release's snapshot until
    there are `target`. Does nothing while another process is at it (the lock)."""
    built: list[str] = []
    dropped: list[str] = []
    with schema_context(get_public_schema_name()):
        if not _try_lock():
            return Replenished(built, dropped)
        try:
            snapshot = current_snapshot()
            state = snapshot.state if snapshot is not None else ""
            for name in SpareSchema.objects.exclude(state=state).values_list(
                "schema_name", flat=True
            ):
                if _drop_spare(name):
                    dropped.append(name)
            if snapshot is None:
                return Replenished(built, dropped)
            while SpareSchema.objects.filter(state=state).count() < target:
                built.append(build_spare(snapshot))
        finally:
            _unlock()
    if built or dropped:
        logger.info("spare council schemas: built %s, dropped %s", built, dropped)
    return Replenished(built, dropped)


def _ranked_spares(state: str, loads: dict[WorkerNode, int] | None) -> list[str]:
    names = list(
        SpareSchema.objects.filter(state=state)
        .order_by("created")
        .values_list("schema_name", flat=True)
    )
    if not loads or len(names) < 2 or not on_citus():
        return names
    best = least_loaded_worker(loads)
    # Stable: those on the least-loaded worker first, each group oldest first.
    return sorted(names, key=lambda name: council_node(name) != best)


def _rename(spare: str, schema_name: str) -> None:
    validate_schema_name(spare)
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER SCHEMA {quote(spare)} RENAME TO {quote(schema_name)}")
        cursor.execute("SELECT oid FROM pg_namespace WHERE nspname = %s", [schema_name])
        schema_oid = cursor.fetchone()[0]
        # A function's search path names its schema as text (SET search_path TO 'spare_…').
        cursor.execute(_SEARCH_PATHS, [schema_oid])
        for function, search_path in cursor.fetchall():
            parts = [part.strip() for part in search_path.split(",")]
            renamed = [schema_name if part.strip('"') == spare else part for part in parts]
            cursor.execute(f"ALTER FUNCTION {function} SET search_path = {', '.join(renamed)}")
        cursor.execute(_LEFT_BEHIND, {"schema": schema_oid, "pattern": f"%{spare}%"})
        left = [f"function {row[0]}" for row in cursor.fetchall()]
    if left:
        # The transaction is rolled back: the spare stays a spare, the council is built.
        raise DatabaseError(f"spare schema {spare} still names itself in {', '.join(left)}")


def _drop_spare(name: str) -> bool:
    """Drop one spare unless a provisioning is taking it at this moment."""
    validate_schema_name(name)
    with transaction.atomic():
        spare = (
            SpareSchema.objects.select_for_update(skip_locked=True).filter(schema_name=name).first()
        )
        if spare is None:
            return False
        with connection.cursor() as cursor:
            # Built in this same transaction (tests), its rows' deferred checks are pending
            # and would block the drop: run them now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"DROP SCHEMA IF EXISTS {connection.ops.quote_name(name)} CASCADE")
        spare.delete()
    return True


def _try_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s::integer)", [REPLENISH_LOCK])
        return cursor.fetchone()[0]


def _unlock() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s::integer)", [REPLENISH_LOCK])
