"""The console home's summary of platform_health: each figure in words, flagged where it passes
the threshold the production alarms use (terraform/modules/monitoring)."""

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone
from django.utils.timesince import timesince

from console.platform_health import PlatformHealth

# The same limits as the CloudWatch alarms on these metrics.
HEARTBEAT_AGE_ALARM_SECONDS = 300  # five missed beats, as the council dashboard's alarm
WEBHOOK_WAIT_ALARM_SECONDS = 300
MOP_UP_LAG_ALARM_SECONDS = 2 * 60 * 60  # it runs every 30 minutes
QUEUE_DEPTH_ALARM = 5_000


@dataclass(frozen=True)
class GlanceRow:
    label: str
    value: str
    alarm: bool


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{int(seconds)} seconds"
    now = timezone.now()
    return timesince(now - timedelta(seconds=seconds), now)


def platform_glance(health: PlatformHealth, queue_depth: int) -> list[GlanceRow]:
    return [
        GlanceRow("Tasks waiting", f"{queue_depth:,}", queue_depth > QUEUE_DEPTH_ALARM),
        GlanceRow(
            "Stalest worker heartbeat",
            _duration(health.heartbeat_age_seconds),
            health.heartbeat_age_seconds > HEARTBEAT_AGE_ALARM_SECONDS,
        ),
        GlanceRow(
            "GOV.UK Pay webhooks waiting",
            f"{health.webhooks_waiting:,}, the oldest "
            f"{_duration(health.oldest_webhook_wait_seconds)}"
            if health.webhooks_waiting
            else "None",
            health.oldest_webhook_wait_seconds > WEBHOOK_WAIT_ALARM_SECONDS,
        ),
        GlanceRow(
            "Imports",
            f"{health.imports_running:,} running; {health.imports_finished_last_hour:,} "
            f"finished in the last hour, the longest "
            f"{_duration(health.longest_import_last_hour_seconds)}",
            False,
        ),
        GlanceRow(
            "Exports failed in the last day",
            f"{health.exports_failed_last_day:,}",
            health.exports_failed_last_day > 0,
        ),
        GlanceRow(
            "GOV.UK Pay mop-up furthest behind",
            _duration(health.mop_up_lag_seconds),
            health.mop_up_lag_seconds > MOP_UP_LAG_ALARM_SECONDS,
        ),
    ]
