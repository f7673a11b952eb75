from django.conf import settings
from django.db import models

from tenants.models.council import Council


class ArchiveStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    PURGED = "purged", "Deleted after the retention period"


class CouncilArchive(models.Model):
    """A complete copy of a council's data: every table of its schema as CSV, with a manifest
    of row counts and SHA-256 checksums, in one zip archive under the data folder. Made when a
    council starts closing; kept (with its row) for the retention period after the schema is
    dropped."""

    council = models.ForeignKey(Council, on_delete=models.PROTECT, related_name="archives")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(
        max_length=20, choices=ArchiveStatus.choices, default=ArchiveStatus.QUEUED
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    # Relative to the data folder.
    archive_path = models.CharField(max_length=500, blank=True)
    archive_sha256 = models.CharField(max_length=64, blank=True)
    archive_bytes = models.BigIntegerField(null=True, blank=True)
    table_count = models.IntegerField(null=True, blank=True)
    row_count = models.BigIntegerField(null=True, blank=True)
    retain_until = models.DateField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"Archive of {self.council} requested {self.requested_at:%Y-%m-%d %H:%M}"
