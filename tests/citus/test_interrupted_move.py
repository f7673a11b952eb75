"""A move interrupted half-way (the copy under way, then cancelled) leaves the council whole
on its old node, working, and the move can simply be run again."""

import datetime
import threading
import time

import psycopg
import pytest
from django.conf import settings
from django.db import DatabaseError, connection
from django_tenants.utils import schema_context
from psycopg import sql

from income.actions.receipts import Allocation, record_receipt
from income.models import Channel, Fund, Receipt
from tenants.actions.council_moves import move_council
from tenants.actions.councils import create_council
from tenants.placement import WorkerNode, council_placements, worker_nodes
from tests.citus.durable_commits import durable_commits  # noqa: F401
from tests.factories import FundFactory


def _pay(key: str) -> None:
    fund = Fund.objects.filter(code="INTR").first() or FundFactory(code="INTR")
    record_receipt(
        channel=Channel.objects.get(code="CASH"),
        amount_pence=900,
        received_on=datetime.date(2026, 12, 1),
        allocations=[Allocation(fund, 900)],
        idempotency_key=key,
        acting_user=None,
    )


def _on_node(node: WorkerNode) -> psycopg.Connection:
    database = settings.DATABASES["default"]["NAME"]
    return psycopg.connect(
        host=node.host, port=node.port, dbname=database, user="postgres", autocommit=True
    )


pytestmark = pytest.mark.usefixtures("durable_commits")


@pytest.fixture
def committed_council(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        council = create_council(name="Interrupted Council", slug="interrupted", acting_user=None)
        with schema_context(council.schema_name):
            for n in range(3):
                _pay(f"before-{n}")
        yield council
        connection.set_schema_to_public()
        council.delete(force_drop=True)


def test_an_interrupted_move_leaves_the_council_whole_and_can_run_again(
    committed_council, django_db_blocker
):
    schema = committed_council.schema_name
    with django_db_blocker.unblock():
        source = council_placements()[schema].node
        target = next(node for node in worker_nodes() if node != source)
        failures: list[BaseException] = []
        mover_pid: list[int] = []

        def move() -> None:
            try:
                with connection.cursor() as cursor:  # this thread's own coordinator session
                    cursor.execute("SELECT pg_backend_pid()")
                    mover_pid.append(cursor.fetchone()[0])
                move_council(council=committed_council, target=target, acting_user=None)
            except BaseException as error:
                failures.append(error)
            finally:
                connection.close()

        with _on_node(source) as holder, _on_node(source) as watcher:
            # Hold the receipts' shard against anything but reads: the move creates the council's
            # tables on the target, then stops half-way, waiting to publish the old copy.
            holder.execute("BEGIN")
            holder.execute("SET citus.override_table_visibility = off")  # shards are hidden
            holder.execute("SET citus.enable_manual_changes_to_shards = on")
            shard = holder.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = %s AND c.relname LIKE 'income\\_receipt\\_%%'"
                " AND c.relkind = 'r'",
                [schema],
            ).fetchone()[0]
            holder.execute(
                sql.SQL("LOCK TABLE {}.{} IN EXCLUSIVE MODE").format(
                    sql.Identifier(schema), sql.Identifier(shard)
                )
            )
            mover = threading.Thread(target=move)
            mover.start()
            waiting = None
            for _ in range(600):  # until the copy waits for the shard (or the move ends)
                waiting = watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND pid <> pg_backend_pid()"
                ).fetchone()[0]
                if waiting or not mover.is_alive():
                    break
                time.sleep(0.05)
            assert waiting, "the move never waited for the held shard"
            with _on_node(target) as on_target:
                on_target.execute("SET citus.override_table_visibility = off")
                copied_tables = on_target.execute(
                    "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE n.nspname = %s AND c.relname LIKE 'income\\_receipt\\_%%'",
                    [schema],
                ).fetchone()[0]
            assert copied_tables, "the move had not reached the target yet"
            with connection.cursor() as cursor:
                # This test's move only: the other test process's moves run on the same cluster.
                cursor.execute("SELECT pg_cancel_backend(%s)", mover_pid)
            holder.execute("ROLLBACK")
        mover.join(timeout=120)
        assert failures and isinstance(failures[0], DatabaseError), failures

        # Whole on its old node, and working.
        assert council_placements()[schema].node == source
        with schema_context(schema):
            assert Receipt.objects.count() == 3
            _pay("after-interruption")
            assert Receipt.objects.count() == 4

        # Run again: it moves, with everything.
        moved = move_council(council=committed_council, target=target, acting_user=None)
        assert moved.node == target
        with schema_context(schema):
            assert sorted(Receipt.objects.values_list("idempotency_key", flat=True)) == [
                "after-interruption", "before-0", "before-1", "before-2",
            ]  # fmt: skip
