"""Event notifications through real Celery workers: never sent before the change commits
(nor at all when it rolls back), and not lost when the worker sending them is killed."""

import datetime
import json
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection, transaction
from django_tenants.utils import schema_context

from income.actions.receipts import Allocation, record_receipt
from income.defaults import seed_income_defaults
from income.events.endpoints import add_endpoint
from income.models import Channel, DeliveryStatus, EventDelivery, EventType
from tenants.actions.councils import create_council
from tenants.models import CouncilRole
from tests.conftest import make_member
from tests.factories import FundFactory
from tests.fixtures.worker import WORKER_COMMAND, worker_environment
from tests.standins.event_receiver import event_receiver
from tests.waiting import wait_for

pytestmark = pytest.mark.worker
REPOSITORY = Path(__file__).resolve().parents[3]


@pytest.fixture
def committed_council(django_db_setup, django_db_blocker, settings):
    """A council whose writes commit, so that workers see them; dropped afterwards."""
    settings.DEMO_INSECURE_ENDPOINTS = True
    with django_db_blocker.unblock():
        council = create_council(
            name="Events Worker Council", slug=f"evt-{secrets.token_hex(3)}", acting_user=None
        )
        admin = make_member(council, CouncilRole.ADMIN)
        yield council, admin
        with schema_context(council.schema_name):
            admin.delete()
        connection.set_schema_to_public()
        council.delete(force_drop=True)


@pytest.fixture
def receiver():
    with event_receiver() as running:
        yield running


def _subscribe(council, admin, url):
    return add_endpoint(
        council=council,
        url=url,
        event_types=list(EventType.values),
        description="",
        acting_user=admin,
    )


def _take(key, code):
    return record_receipt(
        channel=Channel.objects.get(code="CASH"),
        amount_pence=4_200,
        received_on=datetime.date(2026, 11, 20),
        allocations=[Allocation(FundFactory(code=code), 4_200)],
        idempotency_key=key,
        acting_user=None,
        payer_reference="REF1",
    ).receipt


class RolledBack(Exception):
    pass


def test_the_worker_sends_an_event_only_once_its_change_commits(
    celery_worker_process, committed_council, receiver
):
    council, admin = committed_council
    with schema_context(council.schema_name):
        seed_income_defaults()
        _subscribe(council, admin, f"{receiver.url}/ok")
        with pytest.raises(RolledBack), transaction.atomic():
            _take("rolled-back", "RB")
            raise RolledBack
        with transaction.atomic():
            receipt = _take("committed", "OK")
            time.sleep(1.5)  # a worker that could see the outbox now would have sent it
            assert receiver.received == []
        try:
            wait_for(receiver.answered, timeout=60)
        except AssertionError:
            raise AssertionError(celery_worker_process.log()) from None
        time.sleep(0.5)
        [request] = receiver.received  # the rolled-back receipt was never announced
        body = json.loads(request.body)
        assert body["data"]["receipt"]["number"] == receipt.number
        delivery = wait_for(
            lambda: EventDelivery.objects.filter(status=DeliveryStatus.DELIVERED).first()
        )
        assert delivery.attempts == 1
        assert "Task income.deliver_events[" in celery_worker_process.log()


def test_an_event_is_not_lost_when_the_worker_sending_it_is_killed(
    committed_council, receiver, tmp_path, django_db_blocker
):
    """A worker of its own (its own broker folder) is killed mid-POST: the broker's message
    goes with it, but the outbox row stays claimed only until the claim runs out, and the
    next sweep (the beat's, sent here by hand) sends it."""
    council, admin = committed_council
    with schema_context(council.schema_name):
        seed_income_defaults()
        _subscribe(council, admin, f"{receiver.url}/hang-once")
    env = worker_environment(
        COUNTERFOIL_BROKER_DIR=str(tmp_path / "broker"),
        DEMO_INSECURE_ENDPOINTS="1",
        EVENT_CLAIM_SECONDS="3",
        EVENT_DELIVERY_TIMEOUT_SECONDS="60",
    )

    def in_shell(code: str) -> None:
        subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code],
            env=env,
            cwd=REPOSITORY,
            check=True,
            capture_output=True,
        )

    def start_worker(name: str) -> subprocess.Popen:
        log = (tmp_path / f"{name}.log").open("wb")
        return subprocess.Popen(WORKER_COMMAND, stdout=log, stderr=subprocess.STDOUT, env=env)

    # The change commits in another process, whose nudge goes to this test's own broker.
    in_shell(
        "from django_tenants.utils import schema_context\n"
        "from income.events import outbox\n"
        f"with schema_context({council.schema_name!r}):\n"
        "    outbox.emit('receipt.created', lambda: {'receipt': {'number': 'R-KILLED'}})\n"
    )
    first = start_worker("first")
    try:
        wait_for(lambda: receiver.received, timeout=60)  # mid-POST, held by the receiver
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    receiver.release.set()
    with schema_context(council.schema_name):
        delivery = EventDelivery.objects.get()
        assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 0
    second = start_worker("second")
    try:
        time.sleep(3.5)  # the dead worker's claim runs out
        in_shell(
            "from income.tasks import deliver_events_task\n"
            "from tenants.council_task import SCHEMA_HEADER\n"
            "deliver_events_task.apply_async(headers={SCHEMA_HEADER: "
            f"{council.schema_name!r}}})\n"
        )
        wait_for(receiver.answered, timeout=60)
    finally:
        second.terminate()
        second.wait(timeout=15)
    first_request, second_request = receiver.received
    assert first_request.answered is None and second_request.answered == 200
    assert first_request.body == second_request.body  # the same event, id and all
    with schema_context(council.schema_name):
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.DELIVERED
        assert delivery.attempts == 1
