"""Asking the worker to prove it can reach this council's schema (the dashboard's worker check)."""

import secrets

from django.utils import timezone

from tenants.council_task import send_on_commit


def request_worker_heartbeat(*, acting_user: object | None) -> str:
    """Ask the worker to prove it can reach this council's schema; returns the token to look for."""
    token = secrets.token_hex(16)
    send_on_commit("income.record_worker_heartbeat", token, timezone.now().isoformat())
    return token
