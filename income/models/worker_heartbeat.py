from django.db import models


class WorkerHeartbeat(models.Model):
    """Proof that the background worker ran a task in this council's schema, and when."""

    token = models.CharField(max_length=64, unique=True)
    requested_at = models.DateTimeField()
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-recorded_at"]
        get_latest_by = "recorded_at"

    def __str__(self) -> str:
        return f"worker heartbeat {self.token} at {self.recorded_at:%Y-%m-%d %H:%M:%S}"
