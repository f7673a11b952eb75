from income.models.fund import Fund
from income.models.worker_heartbeat import WorkerHeartbeat

__all__ = ["Fund", "WorkerHeartbeat"]
