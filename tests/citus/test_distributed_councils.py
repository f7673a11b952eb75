"""On the cluster, each council's schema is a distributed schema placed whole on one worker,
councils are spread over both workers, and the users table is a reference table."""

from django.db import connection

from tenants.actions.councils import create_council
from tenants.citus import is_citus


def _schema_nodes() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.schema_name::text, p.nodeport FROM citus_schemas s"
            " JOIN pg_dist_partition d ON d.colocationid = s.colocation_id"
            " JOIN pg_dist_shard sh ON sh.logicalrelid = d.logicalrelid"
            " JOIN pg_dist_placement pl ON pl.shardid = sh.shardid"
            " JOIN pg_dist_node p ON p.groupid = pl.groupid"
            " GROUP BY 1, 2"
        )
        return dict(cursor.fetchall())


def test_the_database_is_a_citus_cluster_with_two_workers(db):
    assert is_citus(connection)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM citus_get_active_worker_nodes()")
        assert cursor.fetchone()[0] == 2


def test_each_council_schema_is_distributed_whole_on_one_worker(db, council_a, council_b):
    nodes = _schema_nodes()
    assert council_a.schema_name in nodes and council_b.schema_name in nodes
    with connection.cursor() as cursor:
        # Every table of the council's schema is in the schema's one colocation group.
        cursor.execute(
            "SELECT count(DISTINCT d.colocationid), count(*) FILTER (WHERE d.logicalrelid IS NULL)"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " LEFT JOIN pg_dist_partition d ON d.logicalrelid = c.oid"
            " WHERE n.nspname = %s AND c.relkind = 'r'",
            [council_a.schema_name],
        )
        groups, undistributed = cursor.fetchone()
    assert (groups, undistributed) == (1, 0)


def test_new_councils_are_spread_over_both_workers(db):
    names = [
        create_council(name=f"Spread Test {n}", slug=f"spread-{n}", acting_user=None).schema_name
        for n in range(4)
    ]
    nodes = _schema_nodes()
    assert len({nodes[name] for name in names}) == 2


def test_the_users_table_is_a_reference_table(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT citus_table_type FROM citus_tables WHERE table_name = 'tenants_user'::regclass"
        )
        assert cursor.fetchone() == ("reference",)
