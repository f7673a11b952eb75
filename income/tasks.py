from datetime import datetime

from counterfoil.celery_app import app
from income.models import WorkerHeartbeat


@app.task(name="income.record_worker_heartbeat")
def record_worker_heartbeat(token: str, requested_at: str) -> None:
    """Record that the worker reached this council's schema. Idempotent on `token`."""
    WorkerHeartbeat.objects.get_or_create(
        token=token, defaults={"requested_at": datetime.fromisoformat(requested_at)}
    )
