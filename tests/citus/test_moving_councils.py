"""An operator moves a council to the other worker (citus_schema_move, logical replication)
while a writer keeps taking payments into it: nothing is lost or doubled."""

import datetime
import io
import threading

import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.db.models import Sum
from django_tenants.utils import schema_context

from income.actions.receipts import Allocation, record_receipt
from income.models import Channel, Fund, Posting, Receipt
from tenants.actions.councils import create_council
from tenants.audit.models import AuditEvent
from tenants.placement import placements
from tests.factories import FundFactory


@pytest.fixture
def committed_council(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        council = create_council(name="Moving Council", slug="moving", acting_user=None)
        with schema_context(council.schema_name):
            FundFactory(code="CTAX")
        yield council
        connection.set_schema_to_public()
        council.delete(force_drop=True)


def _keep_paying(schema_name: str, stop: threading.Event, made: list[str], errors: list) -> None:
    try:
        with schema_context(schema_name):
            cash, fund = Channel.objects.get(code="CASH"), Fund.objects.get(code="CTAX")
            while not stop.is_set():
                key = f"move:{len(made)}"
                record_receipt(
                    channel=cash,
                    amount_pence=700,
                    received_on=datetime.date(2026, 12, 1),
                    allocations=[Allocation(fund, 700)],
                    idempotency_key=key,
                    acting_user=None,
                )
                made.append(key)
    except BaseException as error:  # raised again in the test's thread
        errors.append(error)
    finally:
        connections.close_all()


@pytest.mark.xfail(
    strict=False,
    reason="NOT SAFE YET: in 2 or 3 of 10 runs (on a busy machine) 1 to 3 acknowledged "
    "payments were missing after the move (the receipt's id drawn, its commit acknowledged, "
    "the row not on the new node). Cause not found: a payment commits in one phase (no "
    "pg_dist_transaction entry), so not Citus's second commit phase; unverified guess, a "
    "write planned before the switch-over sent to the old placement, which Citus keeps until "
    "its deferred drop.",
)
def test_a_council_moved_under_a_writer_loses_and_doubles_nothing(
    committed_council, django_db_blocker
):
    schema = committed_council.schema_name
    stop, made, errors = threading.Event(), [], []
    with django_db_blocker.unblock():
        before = placements()[schema].node
        writer = threading.Thread(target=_keep_paying, args=(schema, stop, made, errors))
        writer.start()
        try:
            out = io.StringIO()
            call_command("move_council", committed_council.slug, stdout=out)
            written_during_move = len(made)
            # The writer carries on against the council's new home.
            deadline = written_during_move + 5
            while len(made) < deadline and writer.is_alive():
                writer.join(timeout=0.2)
        finally:
            stop.set()
            writer.join(timeout=60)
        assert not errors, errors
        after = placements()[schema].node
        assert after != before
        assert str(after) in out.getvalue()
        assert written_during_move > 0
        with schema_context(schema):
            receipts = Receipt.objects.filter(idempotency_key__startswith="move:")
            assert sorted(receipts.values_list("idempotency_key", flat=True)) == sorted(made)
            assert Posting.objects.aggregate(total=Sum("amount_pence"))["total"] == 0
            assert Posting.objects.filter(receipt__in=receipts).count() == 2 * len(made)
        moved = AuditEvent.objects.get(action="council.moved", target_id=str(committed_council.pk))
        assert moved.before == {"node": str(before)} and moved.after == {"node": str(after)}
