"""Where each council lives on a Citus cluster: its worker node and size, the least-loaded
worker for a new council, and moving a council's schema to another worker.

A council's schema is a Citus distributed schema: all its tables in one colocation group,
placed whole on one worker. Citus picks that worker itself when the schema's first table is
created (in turn, by colocation id), and offers no way to name the node up front short of
taking every other node out of placement (`shouldhaveshards`), which is cluster-wide and would
race with other provisioning and with the rebalancer. So a new council is built where Citus
puts it and, only if that worker is fuller than the least-loaded one by more than a slack
(tenants.actions.council_moves), moved while still nearly empty with `citus_schema_move`, the
move an operator uses. Not by logical replication, though: nothing writes to a council still
being built, and blocking writes for the copy takes about 1.5 s where setting up replication
takes 2.5 s on this machine. On plain PostgreSQL there is one server: nothing to place or move.
"""

import threading
import time
from dataclasses import dataclass

from django.db import connection, transaction

from tenants.citus import is_citus
from tenants.schema_names import validate_schema_name

# Each council schema's shard placements and their nodes, from Citus's catalogue.
_COUNCIL_SHARDS = """
FROM pg_dist_schema ds
JOIN pg_dist_partition p ON p.colocationid = ds.colocationid
JOIN pg_dist_shard sh ON sh.logicalrelid = p.logicalrelid
JOIN pg_dist_placement pl ON pl.shardid = sh.shardid AND pl.shardstate = 1
JOIN pg_dist_node n ON n.groupid = pl.groupid
"""
# Each distributed schema's node and size (the console's list, a move's check), from the
# shards' sizes on the workers: the coordinator's shell tables are empty, so
# pg_total_relation_size there says nothing. From citus_shard_sizes() directly, since the
# citus_shards and citus_schemas views size every shard again on their way.
COUNCIL_PLACEMENTS = f"""
SELECT ds.schemaid::regnamespace::text, n.nodename, n.nodeport, coalesce(sum(sz.size), 0)::bigint
{_COUNCIL_SHARDS}
LEFT JOIN (SELECT shard_id, max(size) AS size FROM citus_shard_sizes() GROUP BY shard_id) sz
    ON sz.shard_id = sh.shardid
GROUP BY 1, 2, 3
"""  # noqa: S608 - constants only
# One schema's node, from the catalogue alone (no sizes).
COUNCIL_NODE = f"""
SELECT DISTINCT n.nodename, n.nodeport
{_COUNCIL_SHARDS}
WHERE ds.schemaid = to_regnamespace(%s)
"""
# Each worker's load: the space its database takes there, less its system catalogue (which
# every council's tables grow on every node). One answer per worker: sizing every shard
# instead (citus_shard_sizes) made placing a council take 30 ms at 10 councils and 450 ms at
# 50. It still reads every file's size (130 ms at 80 councils), hence RecentWorkerLoads.
WORKER_LOADS = """
SELECT nodename, nodeport, success, result FROM run_command_on_workers($$
SELECT pg_database_size(current_database()) - coalesce((
    SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c
    WHERE c.relkind IN ('r', 'p', 'm') AND c.relnamespace = 'pg_catalog'::regnamespace), 0)
$$)
"""
# How long one reading of the workers' loads places new councils: a council grows far
# slower than this, and a burst of new ones is kept even by Citus taking turns.
WORKER_LOADS_MAX_AGE_SECONDS = 120
ACTIVE_WORKERS = """
SELECT nodename, nodeport FROM pg_dist_node
WHERE noderole = 'primary' AND isactive AND shouldhaveshards AND groupid <> 0
ORDER BY nodename, nodeport
"""
# Logical replication: the council keeps taking writes during the copy, and they wait only for
# the final switch-over. 'force_logical' rather than 'auto' so that a table without a replica
# identity is still moved (its own updates and deletes then wait for the switch) instead of
# the whole move being refused; every council table has a primary key today.
SHARD_TRANSFER_MODE = "force_logical"
# A new council's: its writes (none yet) wait for the copy instead of being replicated.
NEW_COUNCIL_TRANSFER_MODE = "block_writes"
# Citus decides a move has caught up by the source's pg_current_wal_lsn(), the WAL *written*
# so far. With synchronous_commit = off a payment is acknowledged before its commit is written,
# so it can fall after that point and be left behind on the old copy: lost. Tests saw 1 to 3
# payments lost in about one move in four; with it on (PostgreSQL's default) none.
WORKER_COMMIT_SETTINGS = "SELECT result FROM run_command_on_workers('SHOW synchronous_commit')"
# Every active worker gets each council schema's catalogue entries and DDL (Citus keeps its
# metadata on all of them), so any one that does not answer stops every new council, not only
# those that would have gone to it. Asked from the coordinator, as Citus itself connects.
UNREACHABLE_WORKERS = """
SELECT nodename, nodeport FROM pg_dist_node
WHERE noderole = 'primary' AND isactive AND groupid <> 0
AND NOT citus_check_connection_to_node(nodename, nodeport)
ORDER BY nodename, nodeport
"""
# A node that accepts no connection answers at once; one that hangs is given this long.
NODE_ANSWER_TIMEOUT_MS = 5000
# A move's replication slots (citus_shard_move_slot_<target>_<owner>_<operation>), left behind
# on the source by a move that was cancelled: a later move whose slot takes the same name fails
# on it ("replication slot ... already exists"). Only inactive ones, on every node.
DROP_LEFTOVER_MOVE_SLOTS = r"""
SELECT nodeid, success, result FROM run_command_on_all_nodes($$
SELECT coalesce(string_agg(slot_name, ' '), '') FROM (
  SELECT slot_name, pg_drop_replication_slot(slot_name) FROM pg_replication_slots
  WHERE slot_name LIKE 'citus\_shard\_move\_slot\_%' AND NOT active) dropped
$$)
"""
# Another move (or a rebalance, or a copy) under way: its slot may be between being made and
# being used, inactive for that moment, and must not be dropped under it.
MOVES_UNDER_WAY = """
SELECT (SELECT count(*) FROM pg_stat_activity
        WHERE pid <> pg_backend_pid() AND state <> 'idle'
        AND query ~* 'citus_(schema_move|move_shard_placement|copy_shard_placement|rebalance)')
     + (SELECT count(*) FROM pg_dist_background_job WHERE state IN ('scheduled', 'running'))
"""


class PlacementRefused(Exception):
    """A placement or move that cannot be done; the message says why, for an operator."""


@dataclass(frozen=True)
class WorkerNode:
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"

    @classmethod
    def parse(cls, text: str) -> "WorkerNode":
        """ "host:port", as the console and `move_council` show nodes."""
        host, _, port = text.strip().rpartition(":")
        if not host or not port.isdigit():
            raise PlacementRefused(f"{text!r} is not a node: give it as host:port")
        return cls(host, int(port))


@dataclass(frozen=True)
class CouncilPlacement:
    schema_name: str
    node: WorkerNode
    size_bytes: int


def on_citus() -> bool:
    return is_citus(connection)


def worker_nodes() -> list[WorkerNode]:
    """The active workers that take councils (empty on plain PostgreSQL)."""
    if not on_citus():
        return []
    with connection.cursor() as cursor:
        cursor.execute(ACTIVE_WORKERS)
        return [WorkerNode(host, port) for host, port in cursor.fetchall()]


def council_placements() -> dict[str, CouncilPlacement]:
    """Each distributed schema's worker and size, by schema name (empty on plain PostgreSQL)."""
    if not on_citus():
        return {}
    with connection.cursor() as cursor:
        cursor.execute(COUNCIL_PLACEMENTS)
        return {
            name: CouncilPlacement(name, WorkerNode(host, port), size)
            for name, host, port, size in cursor.fetchall()
        }


def council_node(schema_name: str) -> WorkerNode | None:
    """The worker a distributed schema lives on; None for a schema that is not one (and on
    plain PostgreSQL). Cheaper than council_placements(), which sizes every council."""
    if not on_citus():
        return None
    with connection.cursor() as cursor:
        cursor.execute(COUNCIL_NODE, [schema_name])
        rows = cursor.fetchall()
    return WorkerNode(*rows[0]) if len(rows) == 1 else None


def worker_loads() -> dict[WorkerNode, int]:
    """The bytes each active worker's database takes now. PlacementRefused if one does not
    answer."""
    nodes = worker_nodes()
    if not nodes:
        raise PlacementRefused("the database is not a Citus cluster with active workers")
    with connection.cursor() as cursor:
        cursor.execute(WORKER_LOADS)
        answers = {WorkerNode(host, port): (ok, result) for host, port, ok, result in cursor}
    silent = [str(node) for node in nodes if not answers.get(node, (False, ""))[0]]
    if silent:
        raise PlacementRefused(f"worker node {', '.join(silent)} did not say how full it is")
    return {node: int(answers[node][1]) for node in nodes}


def least_loaded_worker(loads: dict[WorkerNode, int] | None = None) -> WorkerNode:
    """The worker whose database takes the least space (then the first by name), by
    worker_loads() unless given them."""
    loads = worker_loads() if loads is None else loads
    return min(loads, key=lambda node: (loads[node], node.host, node.port))


class RecentWorkerLoads:
    """worker_loads(), read at most once per WORKER_LOADS_MAX_AGE_SECONDS per process and
    database, so that placing a council costs the same however many the cluster holds."""

    def __init__(self) -> None:
        self._readings: dict[tuple, tuple[float, dict[WorkerNode, int]]] = {}
        self._lock = threading.Lock()

    def read(self) -> dict[WorkerNode, int]:
        """The recent loads; empty on plain PostgreSQL."""
        if not on_citus():
            return {}
        database = tuple(connection.settings_dict[key] for key in ("HOST", "PORT", "NAME"))
        with self._lock:
            taken_at, loads = self._readings.get(database, (float("-inf"), {}))
        if time.monotonic() - taken_at < WORKER_LOADS_MAX_AGE_SECONDS:
            return loads
        loads = worker_loads()
        with self._lock:
            self._readings[database] = (time.monotonic(), loads)
        return loads

    def forget(self) -> None:
        """Read afresh next time (a council has just been moved)."""
        with self._lock:
            self._readings.clear()


recent_worker_loads = RecentWorkerLoads()


def unreachable_workers() -> list[WorkerNode]:
    """The active workers the coordinator cannot reach now (empty on plain PostgreSQL)."""
    if not on_citus():
        return []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL citus.node_connection_timeout = {NODE_ANSWER_TIMEOUT_MS}")
        cursor.execute(UNREACHABLE_WORKERS)
        return [WorkerNode(host, port) for host, port in cursor.fetchall()]


def refuse_unless_every_worker_answers() -> None:
    """PlacementRefused, naming the nodes, while any active worker does not answer: Citus
    writes a new council's schema on every worker, so none can be built until they all do.
    Called before anything of the council is made, so a refusal leaves nothing behind."""
    silent = unreachable_workers()
    if not silent:
        return
    names = ", ".join(map(str, silent))
    if len(silent) == len(worker_nodes()):
        raise PlacementRefused(
            f"no new council can be set up now: no worker node answers ({names}). Start the"
            " worker nodes again, then try again."
        )
    raise PlacementRefused(
        f"no new council can be set up now: worker node {names} does not answer, and every"
        " council is recorded on every worker. Start it again (or remove it from the cluster"
        " once its councils are moved), then try again."
    )


def check_move(schema_name: str, target: WorkerNode) -> CouncilPlacement:
    """Where the schema is now, if it can be moved to `target`; PlacementRefused otherwise."""
    validate_schema_name(schema_name)
    if not on_citus():
        raise PlacementRefused("the database is a single PostgreSQL server, not a Citus cluster")
    nodes = worker_nodes()
    if target not in nodes:
        known = ", ".join(map(str, nodes)) or "none"
        raise PlacementRefused(f"{target} is not an active worker node (the workers: {known})")
    current = council_placements().get(schema_name)
    if current is None:
        raise PlacementRefused(f"{schema_name} is not a distributed schema")
    if current.node == target:
        raise PlacementRefused(f"the council is on {target} already")
    _refuse_unless_commits_are_written()
    return current


def _refuse_unless_commits_are_written() -> None:
    with connection.cursor() as cursor:
        cursor.execute(WORKER_COMMIT_SETTINGS)
        if any(setting == "off" for (setting,) in cursor.fetchall()):
            raise PlacementRefused(
                "a worker runs with synchronous_commit = off, and a move could then lose"
                " payments taken during it: turn it on (the default) on every worker first"
            )


def move_schema(
    schema_name: str, target: WorkerNode, *, transfer_mode: str = SHARD_TRANSFER_MODE
) -> None:
    """Move the schema's tables to `target`, by logical replication unless `transfer_mode`
    says otherwise (NEW_COUNCIL_TRANSFER_MODE). Outside any transaction:
    Citus commits the copy as it goes, and if the move is interrupted the schema stays whole
    on its old node (the half-made copy is cleaned up) and the move can be run again."""
    if connection.in_atomic_block:
        raise PlacementRefused("a move cannot run inside a transaction")
    # Here, not only in check_move: placing a new council moves it too.
    _refuse_unless_commits_are_written()
    drop_leftover_move_slots()
    with connection.cursor() as cursor:
        # The old copies of earlier moves are dropped lazily; one left on the target would
        # stop this move ("orphaned shard ... could not be cleaned up").
        cursor.execute("CALL citus_cleanup_orphaned_resources()")
        cursor.execute(
            "SELECT citus_schema_move(%s::regnamespace, %s, %s, %s::citus.shard_transfer_mode)",
            [schema_name, target.host, target.port, transfer_mode],
        )
        cursor.execute("CALL citus_cleanup_orphaned_resources()")


def drop_leftover_move_slots() -> list[str]:
    """Drop the inactive replication slots that cancelled moves left on any node, unless some
    move is under way (its slot may not be in use yet); the slots dropped, each with the id
    of its node."""
    with connection.cursor() as cursor:
        cursor.execute(MOVES_UNDER_WAY)
        if cursor.fetchone()[0]:
            return []
        cursor.execute(DROP_LEFTOVER_MOVE_SLOTS)
        # A node that does not answer reports failure: the move itself will say so.
        return [
            f"node {node_id}: {slot}"
            for node_id, answered, dropped in cursor.fetchall()
            if answered
            for slot in dropped.split()
        ]
