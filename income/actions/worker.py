"""Council-level actions of the income app."""

import secrets

from django.utils import timezone

from income.tasks import record_worker_heartbeat


def request_worker_heartbeat(*, acting_user: object | None) -> str:
    """Ask the worker to prove it can reach this council's schema; returns the token to look for."""
    token = secrets.token_hex(16)
    record_worker_heartbeat.delay_on_commit(token, timezone.now().isoformat())
    return token
