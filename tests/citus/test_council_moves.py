"""An operator moves a council to another worker (citus_schema_move, logical replication)
while a writer keeps taking payments into it: nothing is lost or doubled, and the move is
audited. Moves that make no sense are refused, saying why."""

import datetime
import io
import re
import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.db.models import Sum
from django_tenants.utils import schema_context

from income.actions.receipts import Allocation, record_receipt
from income.models import Channel, Fund, Posting, Receipt
from tenants.actions.council_moves import move_council
from tenants.actions.councils import create_council
from tenants.audit.models import AuditEvent
from tenants.models import PlatformRole
from tenants.placement import PlacementRefused, WorkerNode, council_placements, worker_nodes
from tests.conftest import host_client, sign_in
from tests.factories import FundFactory, UserFactory

PAYMENT_PENCE = 1_250


@pytest.fixture
def committed_council(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        council = create_council(name="Moving Council", slug="moving", acting_user=None)
        with schema_context(council.schema_name):
            FundFactory(code="CTAX")
        yield council
        connection.set_schema_to_public()
        council.delete(force_drop=True)


def _other_worker(schema_name: str) -> WorkerNode:
    here = council_placements()[schema_name].node
    return next(node for node in worker_nodes() if node != here)


def _keep_paying(schema_name: str, stop: threading.Event, made: list[str], errors: list) -> None:
    """Take counter payments until told to stop; `made` holds the key of each one recorded."""
    try:
        with schema_context(schema_name):
            cash, fund = Channel.objects.get(code="CASH"), Fund.objects.get(code="CTAX")
            while not stop.is_set():
                key = f"move:{len(made)}"
                record_receipt(
                    channel=cash,
                    amount_pence=PAYMENT_PENCE,
                    received_on=datetime.date(2026, 12, 1),
                    allocations=[Allocation(fund, PAYMENT_PENCE)],
                    idempotency_key=key,
                    acting_user=None,
                )
                made.append(key)
    except BaseException as error:  # raised again in the test's thread
        errors.append(error)
    finally:
        connections.close_all()


def test_a_council_moved_under_a_writer_loses_and_doubles_nothing(
    committed_council, django_db_blocker
):
    schema = committed_council.schema_name
    stop, made, errors = threading.Event(), [], []
    with django_db_blocker.unblock():
        before = council_placements()[schema].node
        target = _other_worker(schema)
        writer = threading.Thread(target=_keep_paying, args=(schema, stop, made, errors))
        writer.start()
        try:
            while len(made) < 20 and writer.is_alive():  # the writer is under way
                writer.join(timeout=0.05)
            out = io.StringIO()
            call_command("move_council", committed_council.slug, str(target), stdout=out)
            paid_before_the_end_of_the_move = len(made)
            # ...and carries on against the council's new home.
            while len(made) < paid_before_the_end_of_the_move + 20 and writer.is_alive():
                writer.join(timeout=0.05)
        finally:
            stop.set()
            writer.join(timeout=60)
        assert not errors, errors
        assert paid_before_the_end_of_the_move > 20
        assert council_placements()[schema].node == target
        assert f"is on {target}" in out.getvalue()

        with schema_context(schema):
            receipts = Receipt.objects.filter(idempotency_key__startswith="move:")
            keys = list(receipts.values_list("idempotency_key", flat=True))
            assert len(keys) == len(made)
            assert set(keys) == set(made)
            assert receipts.aggregate(total=Sum("amount_pence"))["total"] == PAYMENT_PENCE * len(
                made
            )
            # The ledger balances: every receipt's postings sum to nothing.
            assert Posting.objects.aggregate(total=Sum("amount_pence"))["total"] == 0
            assert Posting.objects.filter(receipt__in=receipts).count() == 2 * len(made)

        moved = AuditEvent.objects.get(action="council.moved", target_id=str(committed_council.pk))
        assert moved.before["node"] == str(before) and moved.after["node"] == str(target)


def test_moves_that_make_no_sense_are_refused(committed_council, django_db_blocker):
    with django_db_blocker.unblock():
        here = council_placements()[committed_council.schema_name].node
        with pytest.raises(CommandError, match=rf"is on {re.escape(str(here))} already"):
            call_command("move_council", committed_council.slug, str(here))
        with pytest.raises(CommandError, match=r"127\.0\.0\.1:1 is not an active worker node"):
            call_command("move_council", committed_council.slug, "127.0.0.1:1")
        with pytest.raises(CommandError, match="is not a node: give it as host:port"):
            call_command("move_council", committed_council.slug, "worker-2")
        with pytest.raises(CommandError, match="No council has the subdomain 'nowhere'"):
            call_command("move_council", "nowhere", str(here))
        with pytest.raises(PlacementRefused, match=r"is on .* already"):
            move_council(council=committed_council, target=here, acting_user=None)
        assert council_placements()[committed_council.schema_name].node == here
        assert not AuditEvent.objects.filter(
            action="council.moved", target_id=str(committed_council.pk)
        ).exists()


def test_an_operator_moves_a_council_from_the_console(committed_council, django_db_blocker):
    with django_db_blocker.unblock():
        # Committed, and kept: removing a user reaches into every council's tables.
        operator = UserFactory(platform_role=PlatformRole.OPERATOR)
        client = sign_in(host_client(None), operator)
        here = council_placements()[committed_council.schema_name]
        target = _other_worker(committed_council.schema_name)
        page = client.get("/console/nodes/").content.decode()
        assert f"<code>{here.node}</code>" in page
        assert f'<option value="{target}">' in page
        field = f"move-{committed_council.pk}-node"
        answer = client.post(f"/console/nodes/{committed_council.pk}/move/", {field: str(target)})
        assert answer.status_code == 302
        assert council_placements()[committed_council.schema_name].node == target
        refused = client.post(f"/console/nodes/{committed_council.pk}/move/", {field: str(target)})
        assert refused.status_code == 409
        assert f"is on {target} already" in refused.content.decode()
        moved = AuditEvent.objects.get(action="council.moved", target_id=str(committed_council.pk))
        assert moved.actor_id == operator.pk and moved.after["node"] == str(target)
