"""What an operator watches across every council, read from the councils' own tables in one
statement: GOV.UK Pay webhooks waiting in the inbox, imports (running, and how long the last
hour's took), exports that failed, how far the GOV.UK Pay mop-up is behind, and how long since
the worker's scheduled heartbeat. The same numbers feed Prometheus (counterfoil.metrics) and the
console's home."""

from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection
from django.utils import timezone

from income.models import WorkerHeartbeat
from income.tasks import SCHEDULED_HEARTBEAT_TOKEN
from tenants.models import Council, CouncilStatus
from tenants.schema_names import validate_schema_name

# One row per council; every subquery reads a small table or a partial index.
PER_COUNCIL = """
SELECT %s,
  (SELECT count(*) FROM {s}.income_govukpaywebhookmessage WHERE outcome = 'pending'),
  (SELECT min(received_at) FROM {s}.income_govukpaywebhookmessage WHERE outcome = 'pending'),
  (SELECT count(*) FROM {s}.income_importbatch WHERE status = 'running'),
  (SELECT count(*) FROM {s}.income_importbatch
     WHERE finished_at >= now() - interval '1 hour' AND started_at IS NOT NULL),
  (SELECT max(extract(epoch FROM finished_at - started_at)) FROM {s}.income_importbatch
     WHERE finished_at >= now() - interval '1 hour' AND started_at IS NOT NULL),
  (SELECT count(*) FROM {s}.income_exportrun
     WHERE status = 'failed' AND created_at >= now() - interval '1 day'),
  (SELECT min(last_mop_up_at) FROM {s}.income_govukpayconnection WHERE api_key_encrypted <> ''),
  (SELECT count(*) FROM {s}.income_govukpayconnection WHERE api_key_encrypted <> ''),
  (SELECT max(recorded_at) FROM {s}.income_workerheartbeat WHERE token = %s)
"""


@dataclass(frozen=True)
class CouncilHealth:
    schema_name: str
    webhooks_waiting: int
    oldest_webhook_waiting_since: datetime | None
    imports_running: int
    imports_finished_last_hour: int
    longest_import_last_hour_seconds: float | None
    exports_failed_last_day: int
    oldest_mop_up_at: datetime | None
    card_connections: int
    last_heartbeat_at: datetime | None


@dataclass(frozen=True)
class PlatformHealth:
    measured_at: datetime
    councils: list[CouncilHealth] = field(default_factory=list)

    @property
    def webhooks_waiting(self) -> int:
        return sum(c.webhooks_waiting for c in self.councils)

    @property
    def oldest_webhook_wait_seconds(self) -> float:
        return self._age(c.oldest_webhook_waiting_since for c in self.councils)

    @property
    def imports_running(self) -> int:
        return sum(c.imports_running for c in self.councils)

    @property
    def imports_finished_last_hour(self) -> int:
        return sum(c.imports_finished_last_hour for c in self.councils)

    @property
    def longest_import_last_hour_seconds(self) -> float:
        times = [c.longest_import_last_hour_seconds or 0.0 for c in self.councils]
        return max(times, default=0.0)

    @property
    def exports_failed_last_day(self) -> int:
        return sum(c.exports_failed_last_day for c in self.councils)

    @property
    def mop_up_lag_seconds(self) -> float:
        """How long since the council furthest behind had its GOV.UK Pay payments checked
        (a council with a connection never mopped up counts from now: not yet due)."""
        return self._age(c.oldest_mop_up_at for c in self.councils if c.card_connections)

    @property
    def heartbeat_age_seconds(self) -> float:
        """How old the stalest council's scheduled heartbeat is: when it passes the schedule's
        interval, tasks are waiting that long in the queue or nothing takes them."""
        return self._age(c.last_heartbeat_at for c in self.councils)

    def _age(self, moments: object) -> float:
        present = [moment for moment in moments if moment is not None]  # type: ignore[attr-defined]
        if not present:
            return 0.0
        return max(0.0, (self.measured_at - min(present)).total_seconds())


def platform_health() -> PlatformHealth:
    """Every served council's figures, in one statement over their schemas."""
    now = timezone.now()
    served = list(
        Council.objects.exclude(status=CouncilStatus.CLOSED)
        .exclude(schema_name="public")
        .values_list("schema_name", flat=True)
    )
    with connection.cursor() as cursor:
        # Only schemas that are whole: the heartbeat table is among the last a schema gets.
        cursor.execute(
            "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relname = %s AND c.relkind = 'r' AND n.nspname = ANY(%s)"
            " ORDER BY n.nspname",
            [WorkerHeartbeat._meta.db_table, served],
        )
        schemas = [row[0] for row in cursor.fetchall()]
        if not schemas:
            return PlatformHealth(now)
        parts, params = [], []
        for schema in schemas:
            validate_schema_name(schema)  # ours, checked, and quoted as an identifier
            parts.append(PER_COUNCIL.format(s=connection.ops.quote_name(schema)))
            params += [schema, SCHEDULED_HEARTBEAT_TOKEN]
        cursor.execute(" UNION ALL ".join(parts), params)
        rows = cursor.fetchall()
    return PlatformHealth(now, [_council_health(*row) for row in rows])


def _council_health(
    schema: str, waiting: int, oldest: datetime | None, running: int, finished: int,
    longest: float | None, failed: int, mop_up: datetime | None, cards: int,
    heartbeat: datetime | None,
) -> CouncilHealth:  # fmt: skip
    return CouncilHealth(
        schema, int(waiting), oldest, int(running), int(finished),
        float(longest) if longest is not None else None, int(failed), mop_up, int(cards),
        heartbeat,
    )  # fmt: skip
