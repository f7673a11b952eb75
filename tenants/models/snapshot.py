from django.db import models


class SchemaSnapshot(models.Model):
    """The SQL that builds a council's schema as one release's migrations leave it (see
    tenants.schema_snapshot). An empty script means "this state cannot be snapshotted: run the
    migrations"."""

    state = models.CharField(max_length=64, primary_key=True)
    script = models.TextField(blank=True)
    migration_count = models.IntegerField(default=0)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"schema snapshot {self.state[:12]} ({self.migration_count} migrations)"
