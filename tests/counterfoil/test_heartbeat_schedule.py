"""The real beat scheduler and the real worker keep every council's heartbeat fresh."""

import os
import subprocess
import sys

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context
from psycopg.conninfo import make_conninfo

from income.models import WorkerHeartbeat
from income.tasks import SCHEDULED_HEARTBEAT_TOKEN
from income.worker_status import WorkerState, worker_status
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
def beat_process(celery_worker_process, django_db_blocker, tmp_path):
    """celery beat, a beat a second, against the test database."""
    from django.conf import settings

    env = {
        **os.environ,
        "DATABASE_URL": make_conninfo(
            os.environ["DATABASE_URL"], dbname=settings.DATABASES["default"]["NAME"]
        ),
        "WORKER_HEARTBEAT_SECONDS": "1",
    }
    log_path = tmp_path / "beat.log"
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
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


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
