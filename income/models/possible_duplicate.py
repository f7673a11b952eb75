"""A line of a payment file that an earlier import already brought in (the same line, by what
identifies it in its own format): held back from the ledger until a finance manager
releases it (it becomes a receipt) or discards it (with the reason)."""

from django.db import models

from income.models.channel import Channel
from income.models.imports import ImportBatch
from income.money import format_pounds


class PossibleDuplicateStatus(models.TextChoices):
    HELD = "held", "Waiting for a decision"
    RELEASED = "released", "Released"
    DISCARDED = "discarded", "Discarded"


class PossibleDuplicate(models.Model):
    batch = models.ForeignKey(
        ImportBatch, on_delete=models.CASCADE, related_name="possible_duplicates"
    )
    line_number = models.PositiveIntegerField()
    amount_pence = models.BigIntegerField()
    received_on = models.DateField()
    reference = models.CharField(max_length=50, blank=True)
    narrative = models.CharField(max_length=300, blank=True)
    payer_name = models.CharField(max_length=200, blank=True)
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="+")
    # The idempotency key the line's receipt would have had (income.imports.line_keys), which
    # the earlier receipt holds.
    line_key = models.CharField(max_length=200)
    earlier_receipt = models.ForeignKey(
        "income.Receipt", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        max_length=20,
        choices=PossibleDuplicateStatus.choices,
        default=PossibleDuplicateStatus.HELD,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by_id = models.BigIntegerField(null=True, blank=True)
    decided_by_email = models.CharField(max_length=254, blank=True)
    reason = models.TextField(blank=True)
    # The receipt a release created.
    receipt = models.OneToOneField(
        "income.Receipt", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # For money out, the journal a release posted (the line taken back from its receipt, or to
    # the unexplained debits): reversing the import reverses it with the import's own.
    money_out_journal = models.ForeignKey(
        "income.Journal", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["batch", "line_number"]
        indexes = [models.Index(fields=["status", "batch"])]
        constraints = [
            models.UniqueConstraint(
                fields=["batch", "line_number"], name="a_line_is_held_once_per_import"
            ),
        ]

    def __str__(self) -> str:
        return (
            f"Import {self.batch_id} line {self.line_number} "
            f"{format_pounds(self.amount_pence)}: possible duplicate"
        )
