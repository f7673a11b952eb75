"""What a council's dashboard says about the background worker.

The beat scheduler sends each council a heartbeat every WORKER_HEARTBEAT_SECONDS. The worker
is healthy while the newest is recent; the alarm goes off only after several beats in a row
are missed (WORKER_HEARTBEAT_MISSED_BEATS_ALARM), since one beat can be late behind a long
import without anything being wrong. A council newer than that window waits for its first.
"""

import datetime
from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings
from django.utils.timesince import timesince


class WorkerState(StrEnum):
    HEALTHY = "healthy"
    STARTING = "starting"  # a new council, before its first beat was due to arrive
    NOT_RUNNING = "not_running"


@dataclass(frozen=True)
class WorkerStatus:
    state: WorkerState
    message: str


def beat_interval() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.WORKER_HEARTBEAT_SECONDS)


def alarm_after() -> datetime.timedelta:
    """How long without a heartbeat before the dashboard raises the alarm."""
    return beat_interval() * settings.WORKER_HEARTBEAT_MISSED_BEATS_ALARM


def worker_status(
    *,
    now: datetime.datetime,
    last_heartbeat_at: datetime.datetime | None,
    council_since: datetime.datetime,
) -> WorkerStatus:
    window = alarm_after()
    if last_heartbeat_at is not None and now - last_heartbeat_at <= window:
        return WorkerStatus(
            WorkerState.HEALTHY,
            f"The background worker last checked in {timesince(last_heartbeat_at, now)} ago.",
        )
    if last_heartbeat_at is None and now - council_since <= window:
        return WorkerStatus(
            WorkerState.STARTING,
            "The background worker has not checked in with this new council yet: it will "
            "within a few minutes.",
        )
    since = (
        f"has not checked in for {timesince(last_heartbeat_at, now)}"
        if last_heartbeat_at is not None
        else "has never checked in"
    )
    return WorkerStatus(
        WorkerState.NOT_RUNNING,
        f"The background worker {since}: imports, exports and card payment checks wait "
        "until it is back. Tell the platform's operators.",
    )
