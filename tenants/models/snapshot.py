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


class SpareSchema(models.Model):
    """A council schema built ahead of need from the snapshot of `state`, under a name of its
    own, waiting for the next new council to take it by renaming it (tenants.spare_schemas)."""

    schema_name = models.CharField(max_length=63, primary_key=True)
    state = models.CharField(max_length=64, db_index=True)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"spare schema {self.schema_name} ({self.state[:12]})"
