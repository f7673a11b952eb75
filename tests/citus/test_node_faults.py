"""Faults of a Citus cluster, on a cluster of this module's own (tests/citus/dedicated_cluster):
a worker node stopped while councils are being served, provisioning and migrating councils
while a worker is down, and the replication slot a cancelled move leaves behind."""

import io
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection
from django.test import Client
from psycopg import sql

from counterfoil.citus_cluster import CitusCluster, Node
from tenants.actions.council_moves import move_council
from tenants.actions.councils import create_council
from tenants.models import Council, CouncilRole, CouncilStatus
from tenants.placement import (
    PlacementRefused,
    WorkerNode,
    council_placements,
    drop_leftover_move_slots,
    move_schema,
    worker_nodes,
)
from tenants.upgrades import council_migration_states
from tests.citus.dedicated_cluster import dedicated_cluster  # noqa: F401
from tests.conftest import host_client, make_member, sign_in
from tests.factories import PASSWORD, totp_code_now

# One process runs the whole module (`--dist loadgroup`, the Makefile's Citus arguments): the
# module's cluster is started once, not once in each test process.
pytestmark = pytest.mark.xdist_group("dedicated_cluster")

LEFTOVER_SLOTS = (
    "SELECT slot_name FROM pg_replication_slots"
    " WHERE slot_name LIKE 'citus\\_shard\\_move\\_slot\\_%' AND NOT active"
)


def _node(cluster: CitusCluster, worker: WorkerNode) -> Node:
    return next(node for node in cluster.workers if node.port == worker.port)


@contextmanager
def _stopped(cluster: CitusCluster, *workers: WorkerNode) -> Iterator[None]:
    nodes = [_node(cluster, worker) for worker in workers]
    for node in nodes:
        cluster.stop_node(node)
    try:
        yield
    finally:
        for node in nodes:
            cluster.start_node(node)


def _on(cluster: CitusCluster, node: Node) -> psycopg.Connection:
    return psycopg.connect(node.url(settings.DATABASES["default"]["NAME"]), autocommit=True)


@pytest.fixture(scope="module")
def module_councils(dedicated_cluster, django_db_blocker) -> list[Council]:  # noqa: F811
    with django_db_blocker.unblock():
        return [
            create_council(name=f"Fault {name} Council", slug=f"fault-{name}", acting_user=None)
            for name in ("east", "west")
        ]


@pytest.fixture
def councils(module_councils, django_db_blocker) -> dict[WorkerNode, Council]:
    """One council on each worker of the module's cluster (moved back if a test moved it)."""
    with django_db_blocker.unblock():
        first, second = module_councils
        placed = council_placements()
        if placed[first.schema_name].node == placed[second.schema_name].node:
            (other,) = set(worker_nodes()) - {placed[first.schema_name].node}
            move_schema(second.schema_name, other)
            placed = council_placements()
        by_node = {placed[c.schema_name].node: c for c in module_councils}
        assert len(by_node) == 2, "both councils on one worker"
        return by_node


def test_a_stopped_worker_gives_its_councils_a_clear_page_and_the_others_carry_on(
    dedicated_cluster,  # noqa: F811
    councils,
    django_db_blocker,
    caplog,
):
    with django_db_blocker.unblock():
        (down, down_council), (_, up_council) = councils.items()
        clients: dict[Council, Client] = {}
        for council in (down_council, up_council):
            clients[council] = sign_in(
                host_client(council), make_member(council, CouncilRole.INCOME_OFFICER)
            )
            assert clients[council].get("/receipts/").status_code == 200

        with _stopped(dedicated_cluster, down), caplog.at_level(logging.INFO):
            page = clients[down_council].get("/receipts/")
            other = clients[up_council].get("/receipts/")  # the same web process, same moment

        assert page.status_code == 503
        assert page["Retry-After"]
        text = page.content.decode()
        assert f"{down_council.name}\u2019s data is temporarily unavailable" in text
        assert "Try again in a few minutes" in text and "govuk-heading-l" in text
        assert "Traceback" not in text and "connection to the remote node" not in text
        logged = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(logged) == 1, [r.getMessage() for r in logged]  # once, and not as a 500
        assert str(down) in logged[0].getMessage() and not logged[0].exc_info
        assert other.status_code == 200

        # Back: the same process, without a restart, serves the council again.
        assert clients[down_council].get("/receipts/").status_code == 200


def test_staff_of_a_council_on_a_live_worker_sign_in_while_another_worker_is_down(
    dedicated_cluster,  # noqa: F811
    councils,
    django_db_blocker,
    caplog,
):
    """Signing in records its time on the users table, a reference table on every worker:
    the sign-in goes through without it (logged), and the next one records it again."""
    with django_db_blocker.unblock():
        (down, _), (_, up_council) = councils.items()
        member = make_member(up_council, CouncilRole.INCOME_OFFICER)
        client = host_client(up_council)

        with _stopped(dedicated_cluster, down), caplog.at_level(logging.WARNING):
            given = client.post("/accounts/login/", {"login": member.email, "password": PASSWORD})
            assert given["Location"] == "/accounts/2fa/authenticate/"
            done = client.post("/accounts/2fa/authenticate/", {"code": totp_code_now(member.email)})
            assert done.status_code == 302 and done["Location"] == "/"
            assert client.get("/receipts/").status_code == 200
        member.refresh_from_db()
        assert member.last_login is None
        [logged] = [r.getMessage() for r in caplog.records if r.name == "tenants.last_login"]
        assert f"database node {down} did not answer" in logged

        # The worker back, the next sign-in records its time again.
        sign_in(host_client(up_council), member)
        member.refresh_from_db()
        assert member.last_login is not None


def test_no_council_is_set_up_while_a_worker_is_down_and_nothing_is_left_half_made(
    dedicated_cluster,  # noqa: F811
    councils,
    django_db_blocker,
):
    def nothing_made(slug: str) -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname LIKE %s", [f"%{slug}%"])
            schema = cursor.fetchone()
        return schema is None and not Council.objects.filter(slug=slug).exists()

    with django_db_blocker.unblock():
        first, second = councils
        with _stopped(dedicated_cluster, first):
            with pytest.raises(PlacementRefused, match=f"worker node {first} does not answer"):
                create_council(name="While Down", slug="while-down", acting_user=None)
            assert nothing_made("while_down")
            with _stopped(dedicated_cluster, second):
                with pytest.raises(PlacementRefused, match="no worker node answers"):
                    create_council(name="While Down", slug="while-down", acting_user=None)
                assert nothing_made("while_down")

        council = create_council(name="While Down", slug="while-down", acting_user=None)
        assert council.schema_name in council_placements()


def _council_behind(slug: str) -> Council:
    """A council whose schema stopped at the audit app's first migration."""
    schema = f"council_{slug.replace('-', '_')}"
    council = Council.objects.create(
        name=f"{slug} Council", slug=slug, schema_name=schema, status=CouncilStatus.ACTIVE
    )
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)).as_string())
    call_command(
        "migrate_schemas", "audit", "0001_initial", schema_name=schema,
        interactive=False, verbosity=0,
    )  # fmt: skip
    connection.set_schema_to_public()
    return council


@pytest.mark.slow  # about 25 s: each council is migrated in a process of its own, twice
def test_migrating_councils_with_a_worker_down_names_each_failure_and_a_rerun_finishes(
    dedicated_cluster,  # noqa: F811
    councils,
    django_db_blocker,
):
    with django_db_blocker.unblock():
        behind = [_council_behind(slug) for slug in ("behind-east", "behind-west")]
        nodes = list(councils)
        placed = council_placements()
        if placed[behind[0].schema_name].node == placed[behind[1].schema_name].node:
            other = next(n for n in nodes if n != placed[behind[1].schema_name].node)
            move_schema(behind[1].schema_name, other)
        down = council_placements()[behind[0].schema_name].node

        out, err = io.StringIO(), io.StringIO()
        with (
            _stopped(dedicated_cluster, down),
            pytest.raises(CommandError, match="migrating failed for: ") as failed,
        ):
            call_command("migrate_councils", "--jobs", "2", stdout=out, stderr=err)
        report = err.getvalue()
        # Each council that was not migrated is named with why: its own node is down, or
        # (since Citus changes every table on every worker) the node that stopped the change.
        for council in (*behind, councils[down]):
            assert f"{council.schema_name}: not migrated: database node {down} did not answer" in (
                report
            ), report
            assert council.schema_name in str(failed.value)
        assert councils[next(n for n in nodes if n != down)].schema_name not in report

        again = io.StringIO()
        call_command("migrate_councils", "--jobs", "2", stdout=again)  # after the node is back
        assert "2 of" in again.getvalue() and "2 migrated" in again.getvalue()
        assert all(state.current for state in council_migration_states())


def test_a_leftover_move_slot_is_dropped_before_the_next_move_but_never_while_one_runs(
    dedicated_cluster,  # noqa: F811
    councils,
    django_db_blocker,
):
    with django_db_blocker.unblock():
        source, council = next(iter(councils.items()))
        target = next(node for node in councils if node != source)
        failures: list[BaseException] = []

        def move() -> None:
            try:
                move_schema(council.schema_name, target)
            except BaseException as error:
                failures.append(error)
            finally:
                connection.close()

        coordinator = _on(dedicated_cluster, dedicated_cluster.coordinator)
        watcher = _on(dedicated_cluster, _node(dedicated_cluster, source))
        with _on(dedicated_cluster, _node(dedicated_cluster, source)) as holder:
            # Hold the receipts' shard on the source: the move waits for it half-way.
            holder.execute("BEGIN")
            holder.execute("SET citus.override_table_visibility = off")
            holder.execute("SET citus.enable_manual_changes_to_shards = on")
            (shard,) = holder.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = %s AND c.relname LIKE 'income\\_receipt\\_%%'"
                " AND c.relkind = 'r'",
                [council.schema_name],
            ).fetchone()
            holder.execute(
                sql.SQL("LOCK TABLE {}.{} IN EXCLUSIVE MODE").format(
                    sql.Identifier(council.schema_name), sql.Identifier(shard)
                )
            )
            mover = threading.Thread(target=move)
            mover.start()
            mover_pid = None
            for _ in range(600):  # until the move waits for the held shard
                waiting = watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                ).fetchone()[0]
                mover_pid = coordinator.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                    " AND query LIKE 'SELECT citus_schema_move%%' AND state = 'active'"
                ).fetchone()
                if (waiting and mover_pid) or not mover.is_alive():
                    break
                time.sleep(0.05)
            assert mover_pid and mover.is_alive(), failures

            # A move under way: no slot is touched, its own included.
            slots_during = _slots(dedicated_cluster)
            assert drop_leftover_move_slots() == []
            assert _slots(dedicated_cluster) == slots_during

            # Cancelled by its own backend's pid: it leaves its slot behind.
            coordinator.execute("SELECT pg_cancel_backend(%s::int)", [mover_pid[0]])
            holder.execute("ROLLBACK")
        mover.join(timeout=120)
        assert failures and isinstance(failures[0], DatabaseError), failures

        # What a cancelled move can leave on its source: an inactive slot of the name the next
        # move's slot takes (citus_shard_move_slot_<target node>_<owner>_<operation>).
        with _on(dedicated_cluster, _node(dedicated_cluster, source)) as on_source:
            on_source.execute(
                "SELECT pg_create_logical_replication_slot(%s, 'pgoutput')",
                [_next_move_slot(coordinator, target)],
            )
        with pytest.raises(psycopg.InternalError, match=r"replication slot .* already exists"):
            coordinator.execute(  # a move as Citus runs it, without move_schema's clean-up
                "SELECT citus_schema_move(%s::regnamespace, %s, %s, 'force_logical')",
                [council.schema_name, target.host, target.port],
            )
        # Citus's own clean-up now drops that one (the failed move recorded the name as its
        # own); left again for the next move's name, it is one Citus knows nothing of.
        coordinator.execute("CALL citus_cleanup_orphaned_resources()")
        with _on(dedicated_cluster, _node(dedicated_cluster, source)) as on_source:
            on_source.execute(
                "SELECT pg_create_logical_replication_slot(%s, 'pgoutput')",
                [_next_move_slot(coordinator, target)],
            )

        assert _slots(dedicated_cluster)

        # The next move drops it first, and moves the council.
        moved = move_council(council=council, target=target, acting_user=None)
        assert moved.node == target
        assert _slots(dedicated_cluster) == []
        coordinator.close()
        watcher.close()


def _next_move_slot(coordinator: psycopg.Connection, target: WorkerNode) -> str:
    (name,) = coordinator.execute(
        "SELECT format('citus_shard_move_slot_%%s_%%s_%%s', n.nodeid, 10, s.last_value + 1)"
        " FROM pg_dist_node n, pg_dist_operationid_seq s"
        " WHERE n.nodename = %s AND n.nodeport = %s",
        [target.host, target.port],
    ).fetchone()
    return name


def _slots(cluster: CitusCluster) -> list[str]:
    """Every inactive move slot on the cluster's nodes, as "port slot"."""
    found = []
    for node in cluster.nodes:
        with _on(cluster, node) as on_node:
            found += [f"{node.port} {name}" for (name,) in on_node.execute(LEFTOVER_SLOTS)]
    return sorted(found)
