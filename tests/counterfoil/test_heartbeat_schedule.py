"""The real beat scheduler and the real worker keep every council's heartbeat fresh."""

import subprocess
import sys

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from income.models import WorkerHeartbeat
from income.tasks import SCHEDULED_HEARTBEAT_TOKEN
from income.worker_status import WorkerState, worker_status
from tests.fixtures.worker import start_worker, stop_process, worker_environment
from tests.waiting import wait_for

pytestmark = pytest.mark.worker


def _beat_times(schema_name: str) -> set:
    with schema_context(schema_name):
        return set(
            WorkerHeartbeat.objects.filter(token=SCHEDULED_HEARTBEAT_TOKEN).values_list(
                "recorded_at", flat=True
            )
        )


@pytest.fixture
def beat_process(django_db_setup, django_db_blocker, tmp_path):
    """celery beat, a beat a second, with a worker of its own on a broker folder of its own:
    the beat fans out to every council the session has made, so the backlog it leaves must not
    queue in front of the session worker's tasks."""
    env = worker_environment(
        COUNTERFOIL_BROKER_DIR=str(tmp_path / "broker"), WORKER_HEARTBEAT_SECONDS="1"
    )
    worker = start_worker(env, tmp_path / "worker.log")
    log_path = tmp_path / "beat.log"
    try:
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                [sys.executable, "-m", "celery", "--app", "counterfoil.celery_app", "beat",
                 "--schedule", str(tmp_path / "beat-schedule"), "--loglevel", "INFO"],
                stdout=log_file, stderr=subprocess.STDOUT, env=env,
            )  # fmt: skip
        try:
            with django_db_blocker.unblock():
                yield process
        finally:
            stop_process(process)
    finally:
        stop_process(worker.process)


def test_the_beat_keeps_each_councils_heartbeat_fresh_on_the_real_worker(
    council_a, council_b, beat_process
):
    first = wait_for(lambda: _beat_times(council_a.schema_name), timeout=60)
    wait_for(lambda: _beat_times(council_a.schema_name) - first, timeout=30)  # and moves on
    assert wait_for(lambda: _beat_times(council_b.schema_name), timeout=30)

    with schema_context(council_a.schema_name):
        newest = WorkerHeartbeat.objects.latest().recorded_at
    status = worker_status(now=timezone.now(), last_heartbeat_at=newest, council_since=newest)
    assert status.state == WorkerState.HEALTHY
