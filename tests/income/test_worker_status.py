"""The dashboard's word on the background worker: healthy while the scheduled heartbeats keep
coming, the alarm only after several in a row are missed, and a new council waits calmly for
its first."""

import datetime

import pytest
from django.conf import settings
from django.utils import timezone

from counterfoil.celery_app import app
from counterfoil.celery_beat import ServedCouncilsScheduler
from income.models import WorkerHeartbeat
from income.tasks import SCHEDULED_HEARTBEAT_TOKEN, scheduled_worker_heartbeat
from income.worker_status import WorkerState, worker_status
from tenants.models import Council, CouncilStatus
from tests.conftest import host_client
from tests.factories import PASSWORD

NOW = datetime.datetime(2026, 12, 2, 12, 0, tzinfo=datetime.UTC)
LONG_AGO = NOW - datetime.timedelta(days=30)


def test_the_beat_schedule_sends_every_council_a_heartbeat_each_minute():
    entry = settings.CELERY_BEAT_SCHEDULE["worker-heartbeat"]
    assert entry["task"] == "income.scheduled_worker_heartbeat" in app.tasks
    assert entry["schedule"] == settings.WORKER_HEARTBEAT_SECONDS == 60
    # Fanned out per council: no schema named, so the scheduler sends one to each council.
    assert "tenant_schemas" not in entry
    assert settings.CELERY_BEAT_SCHEDULER == "counterfoil.celery_beat:ServedCouncilsScheduler"


@pytest.mark.django_db
def test_the_scheduler_sends_only_to_councils_whose_hosts_answer(council_a):
    Council.objects.filter(pk=council_a.pk).update(status=CouncilStatus.CLOSED)
    closed = ServedCouncilsScheduler.get_queryset().filter(pk=council_a.pk).exists()
    Council.objects.filter(pk=council_a.pk).update(status=CouncilStatus.SUSPENDED)
    suspended = ServedCouncilsScheduler.get_queryset().filter(pk=council_a.pk).exists()
    assert (closed, suspended) == (False, True)


@pytest.mark.parametrize(
    ("seconds_since_beat", "state"),
    [(0, WorkerState.HEALTHY), (60, WorkerState.HEALTHY), (299, WorkerState.HEALTHY),
     (300, WorkerState.HEALTHY), (301, WorkerState.NOT_RUNNING),
     (1_020, WorkerState.NOT_RUNNING)],
)  # fmt: skip
def test_the_alarm_goes_off_only_after_five_missed_beats(seconds_since_beat, state):
    beat = NOW - datetime.timedelta(seconds=seconds_since_beat)
    assert worker_status(now=NOW, last_heartbeat_at=beat, council_since=LONG_AGO).state == state


def test_a_late_worker_says_how_long_and_what_waits():
    status = worker_status(
        now=NOW, last_heartbeat_at=NOW - datetime.timedelta(minutes=17), council_since=LONG_AGO
    )
    assert status.message == (
        "The background worker has not checked in for 17\xa0minutes: imports, exports and card "
        "payment checks wait until it is back. Tell the platform's operators."
    )


def test_a_new_council_waits_for_its_first_beat_then_raises_the_alarm():
    just_made = NOW - datetime.timedelta(seconds=30)
    waiting = worker_status(now=NOW, last_heartbeat_at=None, council_since=just_made)
    assert waiting.state == WorkerState.STARTING
    never = worker_status(
        now=NOW, last_heartbeat_at=None, council_since=NOW - datetime.timedelta(minutes=6)
    )
    assert never.state == WorkerState.NOT_RUNNING
    assert never.message.startswith("The background worker has never checked in:")


@pytest.mark.django_db
def test_the_dashboard_says_healthy_within_the_window_and_alarms_after_the_gap(
    council_a, in_council_a, officer
):
    client = host_client(council_a)
    client.login(email=officer.email, password=PASSWORD)
    scheduled_worker_heartbeat()  # as the worker runs it, in the council's schema
    page = client.get("/").content.decode()
    assert 'data-state="healthy"' in page and "Healthy</strong>" in page

    six_minutes_ago = timezone.now() - datetime.timedelta(minutes=6)
    WorkerHeartbeat.objects.update(recorded_at=six_minutes_ago)
    page = client.get("/").content.decode()
    assert 'data-state="not_running"' in page and "Alarm</strong>" in page
    assert "has not checked in for 6\xa0minutes" in page

    scheduled_worker_heartbeat()  # the worker is back: one row, moved on
    assert WorkerHeartbeat.objects.filter(token=SCHEDULED_HEARTBEAT_TOKEN).count() == 1
    assert 'data-state="healthy"' in client.get("/").content.decode()
