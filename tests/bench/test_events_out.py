"""events_out: 10,000 event notifications delivered by a real Celery worker to a local HTTP
endpoint (claimed from the outbox, signed, POSTed, each attempt recorded), against a bare
`httpx` loop POSTing the same 10,000 bodies to the same endpoint, in the same run.

The issue's target: at least half the bare loop's rate. `BENCH_EVENTS` sets the count.
"""

import json
import os
import secrets
import time

import httpx
import pytest
from django.db import connection, transaction
from django_tenants.utils import schema_context

from income.events import outbox
from income.events.endpoints import add_endpoint
from income.models import DeliveryStatus, EventDelivery, EventType
from tenants.actions.councils import create_council
from tenants.models import CouncilRole
from tests.bench.reporting import bench_line
from tests.conftest import make_member
from tests.standins.event_receiver import event_receiver
from tests.waiting import wait_for

EVENTS = int(os.environ.get("BENCH_EVENTS", "10000"))
TARGET_RATIO = 0.5  # the target; never lowered to pass


@pytest.fixture
def events_council(django_db_setup, django_db_blocker, settings):
    settings.DEMO_INSECURE_ENDPOINTS = True
    with django_db_blocker.unblock():
        council = create_council(
            name="Events Bench Council", slug=f"bench-evt-{secrets.token_hex(2)}", acting_user=None
        )
        admin = make_member(council, CouncilRole.ADMIN)
        yield council, admin
        with schema_context(council.schema_name):
            admin.delete()
        connection.set_schema_to_public()
        council.delete(force_drop=True)


def _data(n: int) -> dict:
    return {
        "receipt": {
            "number": f"R{n:07d}",
            "amount_pence": 1_000 + n,
            "received_on": "2026-11-20",
            "channel": "CARD",
            "payer_reference": f"CT{n:08d}",
            "status": "active",
            "allocations": [{"fund": "CTAX", "reference": f"CT{n:08d}", "amount_pence": 1_000}],
        }
    }


def test_events_out(celery_worker_process, events_council):
    council, admin = events_council
    with event_receiver() as receiver, schema_context(council.schema_name):
        add_endpoint(
            council=council,
            url=f"{receiver.url}/ok",
            event_types=[EventType.RECEIPT_CREATED],
            description="bench",
            acting_user=admin,
        )
        # The reference: the same POSTs, same bodies, from a bare httpx loop.
        bodies = [json.dumps({"id": n, "data": _data(n)}).encode() for n in range(EVENTS)]
        with httpx.Client(headers={"Content-Type": "application/json"}) as client:
            began = time.perf_counter()
            for body in bodies:
                client.post(f"{receiver.url}/ok", content=body).raise_for_status()
            bare_seconds = time.perf_counter() - began
        receiver.received.clear()

        with transaction.atomic():
            for n in range(EVENTS):
                outbox.emit(EventType.RECEIPT_CREATED, lambda n=n: _data(n))
            committed = time.perf_counter()  # the worker is nudged as this block commits
        delivered = EventDelivery.objects.filter(status=DeliveryStatus.DELIVERED)
        wait_for(lambda: delivered.count() == EVENTS, timeout=600, interval=0.05)
        ours_seconds = time.perf_counter() - committed
        assert len(receiver.answered()) == EVENTS
        assert not EventDelivery.objects.exclude(status=DeliveryStatus.DELIVERED).exists()

    print(
        "\n"
        + bench_line(
            "events_out",
            ("events_per_s", EVENTS / ours_seconds, ""),
            ("bare_httpx_per_s", EVENTS / bare_seconds, ""),
            target=TARGET_RATIO,
        )
    )
