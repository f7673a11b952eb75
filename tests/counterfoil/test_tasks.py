"""Tasks run in their council's schema on a real worker process, and never without one."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from counterfoil.celery_app import NoCouncilError, app
from income.models import WorkerHeartbeat
from income.tasks import record_worker_heartbeat
from tests.waiting import wait_for

pytestmark = pytest.mark.worker
REPOSITORY = Path(__file__).resolve().parents[2]


def _heartbeat_in(schema_name: str, token: str) -> bool:
    with schema_context(schema_name):
        return WorkerHeartbeat.objects.filter(token=token).exists()


@pytest.fixture
def committed(django_db_blocker):
    """Use the database outside any test transaction: the worker process must see what the
    test commits, and on-commit hooks must really fire."""
    with django_db_blocker.unblock():
        yield


def test_a_task_sent_for_council_a_runs_in_council_a_schema_on_the_worker(
    council_a, council_b, celery_worker_process, committed
):
    token = secrets.token_hex(8)
    with schema_context(council_a.schema_name):
        record_worker_heartbeat.delay(token, timezone.now().isoformat())

    wait_for(lambda: _heartbeat_in(council_a.schema_name, token), timeout=30)
    assert not _heartbeat_in(council_b.schema_name, token)
    assert "Task income.record_worker_heartbeat[" in celery_worker_process.log()


def test_a_task_is_enqueued_only_when_the_transaction_commits(
    council_a, celery_worker_process, committed
):
    from django.db import transaction

    from income.actions.worker_heartbeat import request_worker_heartbeat

    with schema_context(council_a.schema_name):
        with transaction.atomic():
            token = request_worker_heartbeat(acting_user=None)
            transaction.set_rollback(True)
        rolled_back_token = token
        with transaction.atomic():
            token = request_worker_heartbeat(acting_user=None)

    wait_for(lambda: _heartbeat_in(council_a.schema_name, token), timeout=30)
    assert not _heartbeat_in(council_a.schema_name, rolled_back_token)


def test_a_task_cannot_be_sent_from_the_public_schema():
    connection.set_schema_to_public()
    with pytest.raises(NoCouncilError, match="sent from the public schema"):
        record_worker_heartbeat.delay("x", timezone.now().isoformat())


def test_a_message_without_a_council_refuses_to_run_on_the_worker(
    council_a, celery_worker_process, committed
):
    token = secrets.token_hex(8)
    connection.set_schema_to_public()
    # A message as another producer might send it: no schema header at all.
    result = app.send_task(
        "income.record_worker_heartbeat",
        args=[token, timezone.now().isoformat()],
        headers={"_schema_name": None},
    )

    wait_for(
        lambda: f"{result.id}] raised unexpected: NoCouncilError" in celery_worker_process.log()
    )
    assert not _heartbeat_in(council_a.schema_name, token)


def test_a_web_process_sends_tasks_through_the_platform_s_celery_app():
    # A fresh process that never imports counterfoil.celery_app itself, as a web worker.
    code = (
        "import django; django.setup(); "
        "from income.tasks import record_worker_heartbeat as t; "
        "from tenants.council_task import CouncilTask; "
        "print(t.app.main, t.app.conf.broker_url.split(':')[0], isinstance(t, CouncilTask))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "counterfoil.settings"}
    output = subprocess.check_output(
        [sys.executable, "-c", code], cwd=REPOSITORY, env=env, text=True
    )
    assert output.split() == ["counterfoil", "filesystem", "True"]


def test_the_broker_keeps_its_exchange_tables_in_the_data_folder(
    council_a, celery_worker_process, committed
):
    token = secrets.token_hex(8)
    with schema_context(council_a.schema_name):
        record_worker_heartbeat.delay(token, timezone.now().isoformat())
    wait_for(lambda: _heartbeat_in(council_a.schema_name, token), timeout=30)

    assert (settings.BROKER_DIR / "control" / "celery.exchange").exists()
    assert not (REPOSITORY / "control").exists()
