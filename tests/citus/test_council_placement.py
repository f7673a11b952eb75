"""New councils go to the worker whose database takes the least space: Citus builds the schema
where it likes, and create_council moves it, still nearly empty, to the least-loaded worker when
the one it is on holds more than settings.COUNCIL_PLACEMENT_SLACK_BYTES beyond it."""

import logging
import os

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from tenants.actions.councils import create_council
from tenants.audit.models import AuditEvent
from tenants.placement import (
    council_node,
    council_placements,
    least_loaded_worker,
    recent_worker_loads,
    worker_loads,
    worker_nodes,
)

FILLER_CHUNK = 1_000_000  # characters of incompressible text per audit row


def _fill(schema_name: str, extra_bytes: int) -> None:
    """Make the council take `extra_bytes` more space (random text in its own audit log)."""
    with schema_context(schema_name):
        for _ in range(extra_bytes // FILLER_CHUNK + 1):
            AuditEvent.objects.create(
                action="test.filler", reason=os.urandom(FILLER_CHUNK // 2).hex()
            )


@pytest.fixture
def committed_councils(django_db_setup, django_db_blocker):
    made = []
    with django_db_blocker.unblock():
        yield made
        connection.set_schema_to_public()
        for council in made:
            council.delete(force_drop=True)


def test_new_councils_go_to_the_least_loaded_worker(
    committed_councils, django_db_blocker, settings, caplog
):
    settings.COUNCIL_PLACEMENT_SLACK_BYTES = FILLER_CHUNK
    caplog.set_level(logging.INFO, logger="tenants.actions.council_moves")
    with django_db_blocker.unblock():
        heavy = create_council(name="Heavy Council", slug="heavy", acting_user=None)
        committed_councils.append(heavy)
        heavy_node = council_placements()[heavy.schema_name].node
        # The catalogue alone says where it is (placing a council asks it, not every size).
        assert council_node(heavy.schema_name) == heavy_node
        assert council_node("public") is None
        (light_node,) = [node for node in worker_nodes() if node != heavy_node]
        # Whatever else the session has built, the heavy council's node ends well ahead.
        loads = worker_loads()
        _fill(heavy.schema_name, loads[light_node] - loads[heavy_node] + 4 * FILLER_CHUNK)
        assert least_loaded_worker() == light_node
        # Placing reads the loads at most every two minutes: read them after the filling.
        recent_worker_loads.forget()

        for n in range(3):
            council = create_council(name=f"Placed {n}", slug=f"placed-{n}", acting_user=None)
            committed_councils.append(council)
            # Without placement Citus alternates between workers; these all go to the light one.
            assert council_placements()[council.schema_name].node == light_node
        # Citus built at least one of the three on the heavy worker: moved, and logged.
        assert [r for r in caplog.records if " moved from " in r.getMessage()]

        # The placed councils work where they landed.
        with schema_context(committed_councils[-1].schema_name):
            assert AuditEvent.objects.filter(action="test.filler").count() == 0


def test_a_council_placed_on_the_emptier_worker_keeps_the_workers_even(
    committed_councils, django_db_blocker, settings
):
    settings.COUNCIL_PLACEMENT_SLACK_BYTES = 0
    with django_db_blocker.unblock():
        for n in range(4):
            recent_worker_loads.forget()
            loads = worker_loads()
            council = create_council(name=f"Even {n}", slug=f"even-{n}", acting_user=None)
            committed_councils.append(council)
            # On the lighter worker, or (a tie) on either.
            placed = council_placements()[council.schema_name].node
            assert loads[placed] == min(loads.values())


def test_new_councils_stay_where_citus_builds_them_while_the_workers_are_nearly_even(
    committed_councils, django_db_blocker, caplog
):
    """Citus takes turns between workers: with the default slack nothing is moved (a move
    would cost each council more than a second), and the workers stay even."""
    caplog.set_level(logging.INFO, logger="tenants.actions.council_moves")
    with django_db_blocker.unblock():
        before = worker_loads()
        for n in range(4):
            council = create_council(name=f"Turn {n}", slug=f"turn-{n}", acting_user=None)
            committed_councils.append(council)
        placed = [council_placements()[c.schema_name].node for c in committed_councils]
        assert sorted(placed.count(node) for node in worker_nodes()) == [2, 2]
        assert not [r.message for r in caplog.records if " moved from " in r.getMessage()]
        after = worker_loads()
        grown = [after[node] - before[node] for node in worker_nodes()]
        assert abs(grown[0] - grown[1]) < FILLER_CHUNK


@pytest.mark.django_db
def test_a_new_council_takes_the_spare_schema_on_the_least_loaded_worker():
    from tenants.schema_snapshot import current_snapshot
    from tenants.spare_schemas import build_spare, take_spare

    snapshot = current_snapshot()
    workers = worker_nodes()
    spares_on: dict = {}
    # Citus places each new schema in turn: a few spares cover both workers.
    for _ in range(6):
        spare = build_spare(snapshot)
        spares_on.setdefault(council_node(spare), []).append(spare)
        if len(spares_on) == len(workers):
            break
    assert set(spares_on) == set(workers)

    for index, emptiest in enumerate(workers):
        loads = {node: 0 if node == emptiest else 10**9 for node in workers}
        taken = take_spare(f"council_spare_placed_{index}", snapshot, loads=loads)
        assert taken in spares_on[emptiest]
        assert council_node(f"council_spare_placed_{index}") == emptiest
