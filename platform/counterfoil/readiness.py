"""Whether this process can serve: its database answers, its broker takes messages, and the
database is at this release (the public schema's migrations all applied, no council schema
behind). A load balancer asks often, so the migration check, which reads the migration graph,
is remembered for READINESS_CACHE_SECONDS."""

import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from kombu import Connection

_remembered: tuple[float, str] | None = None


@dataclass(frozen=True)
class Readiness:
    database: str
    broker: str
    migrations: str

    @property
    def ready(self) -> bool:
        return self.database == self.broker == self.migrations == "ok"


def readiness() -> Readiness:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:  # any failure means "not ready"; say which, without secrets
        return Readiness(type(error).__name__, "unchecked", "unchecked")
    return Readiness("ok", _broker(), _migrations())


def _broker() -> str:
    try:
        with Connection(
            settings.CELERY_BROKER_URL,
            transport_options=getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}),
            connect_timeout=2,
        ) as broker:
            broker.ensure_connection(max_retries=1, timeout=2)
    except Exception as error:
        return type(error).__name__
    return "ok"


def _migrations() -> str:
    global _remembered
    now = time.monotonic()
    if _remembered is not None and now - _remembered[0] < settings.READINESS_CACHE_SECONDS:
        return _remembered[1]
    answer = _check_migrations()
    _remembered = (now, answer)
    return answer


def _check_migrations() -> str:
    from tenants.upgrades import council_migration_states

    connection.set_schema_to_public()
    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        return "the public schema is behind this release"
    try:
        behind = [state for state in council_migration_states() if not state.current]
    except RuntimeError as error:  # no schema snapshot: the release step has not run
        return str(error)
    if behind:
        return f"{len(behind)} council schema(s) behind this release"
    return "ok"
