"""Where each council lives on a Citus cluster, and moving one to another worker.

A council's schema is a distributed schema: all its tables in one colocation group, placed
whole on one worker. `citus_schema_move` copies it to another worker by logical replication
while the council keeps working (writes wait only for the final switch-over), then drops the
old copy. On plain PostgreSQL there is one server and nothing to move.
"""

from dataclasses import dataclass

from django.db import connection

from tenants.citus import is_citus
from tenants.schema_names import validate_schema_name

PLACEMENTS = """
SELECT s.schema_name::text, n.nodename, n.nodeport, s.colocation_id,
    sum(pg_total_relation_size(d.logicalrelid))::bigint
FROM citus_schemas s
JOIN pg_dist_partition d ON d.colocationid = s.colocation_id
JOIN pg_dist_shard sh ON sh.logicalrelid = d.logicalrelid
JOIN pg_dist_placement pl ON pl.shardid = sh.shardid
JOIN pg_dist_node n ON n.groupid = pl.groupid
GROUP BY 1, 2, 3, 4
"""


class NotOnACluster(Exception):
    """The database is one PostgreSQL server: councils have no node to move between."""


@dataclass(frozen=True)
class Node:
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Placement:
    schema_name: str
    node: Node
    size_bytes: int


def placements() -> dict[str, Placement]:
    """Each distributed council schema's worker and size (empty on plain PostgreSQL)."""
    if not is_citus(connection):
        return {}
    with connection.cursor() as cursor:
        cursor.execute(PLACEMENTS)
        return {
            name: Placement(name, Node(host, port), size)
            for name, host, port, _, size in cursor.fetchall()
        }


def workers() -> list[Node]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nodename, nodeport FROM pg_dist_node"
            " WHERE noderole = 'primary' AND isactive AND shouldhaveshards AND groupid <> 0"
            " ORDER BY nodename, nodeport"
        )
        return [Node(host, port) for host, port in cursor.fetchall()]


def least_loaded_worker(*, other_than: Node | None = None) -> Node:
    """The worker whose councils take the least space (councils counted when equal)."""
    load: dict[Node, tuple[int, int]] = {node: (0, 0) for node in workers()}
    for placement in placements().values():
        if placement.node in load:
            size, count = load[placement.node]
            load[placement.node] = (size + placement.size_bytes, count + 1)
    candidates = [node for node in load if node != other_than]
    if not candidates:
        raise NotOnACluster("there is no other worker to place the council on")
    return min(candidates, key=lambda node: load[node])


def move_schema(schema_name: str, target: Node) -> None:
    """Move the schema's tables to `target` by logical replication (citus_schema_move); a
    no-op when it is there already. Must run outside a transaction: the copy is committed
    as it goes, and an interrupted move leaves the schema whole on its old node."""
    validate_schema_name(schema_name)
    if not is_citus(connection):
        raise NotOnACluster("the database is a single PostgreSQL server")
    current = placements().get(schema_name)
    if current is None:
        raise NotOnACluster(f"{schema_name} is not a distributed schema")
    if current.node == target:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT citus_schema_move(%s::regnamespace, %s, %s, 'force_logical')",
            [schema_name, target.host, target.port],
        )
