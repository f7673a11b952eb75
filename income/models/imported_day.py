"""Each channel's days that imports brought lines in for: one row a channel and day, so an
import asks the receipt table whether a line was already imported only for the lines of a
day some earlier import brought lines in for (income.imports.duplicates). A file of a new
day (nearly every file) costs no lookups at all."""

from django.db import models


class ImportedDay(models.Model):
    # The line's own channel code, as its receipt's key names it (income.imports.line_keys).
    channel_code = models.CharField(max_length=20)
    received_on = models.DateField()
    # The import that first brought in a line of this channel and day.
    first_batch_id = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel_code", "received_on"], name="one_row_per_imported_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel_code} {self.received_on:%-d %b %Y}"
