"""A debit from a payment file that no receipt explains: money that left the bank, held on
the unexplained debits account until someone says what it was."""

from django.db import models

from income.models.channel import Channel
from income.models.fund import Fund
from income.models.imports import ImportBatch
from income.models.ledger import Journal
from income.money import format_pounds


class UnexplainedDebitStatus(models.TextChoices):
    OPEN = "open", "To explain"
    RESOLVED = "resolved", "Explained"
    REVERSED = "reversed", "Reversed with its import"


class DebitResolution(models.TextChoices):
    RECEIPT = "receipt", "Taken back from a receipt"
    FUND = "fund", "Charged to a fund"
    FEES = "fees", "Charged to fees (bank charges)"


class UnexplainedDebit(models.Model):
    batch = models.ForeignKey(
        ImportBatch, on_delete=models.PROTECT, related_name="unexplained_debits"
    )
    line_number = models.PositiveIntegerField()
    amount_pence = models.BigIntegerField()  # positive: the money that went out
    received_on = models.DateField()
    reference = models.CharField(max_length=50, blank=True)
    narrative = models.CharField(max_length=300, blank=True)
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="+")
    # Why no receipt explains it, e.g. "no receipt has the reference NONREF".
    reason = models.TextField()
    status = models.CharField(
        max_length=20, choices=UnexplainedDebitStatus.choices, default=UnexplainedDebitStatus.OPEN
    )
    resolution = models.CharField(max_length=20, choices=DebitResolution.choices, blank=True)
    receipt = models.ForeignKey(
        "income.Receipt", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    fund = models.ForeignKey(
        Fund, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(blank=True)
    journal = models.OneToOneField(
        Journal, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by_id = models.BigIntegerField(null=True, blank=True)
    resolved_by_email = models.CharField(max_length=254, blank=True)

    class Meta:
        ordering = ["received_on", "batch", "line_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["batch", "line_number"], name="one_unexplained_debit_per_line"
            ),
            models.CheckConstraint(
                condition=models.Q(amount_pence__gt=0), name="unexplained_debits_take_money"
            ),
            # Explained means a journal says where the money went, and only then.
            models.CheckConstraint(
                condition=models.Q(status="resolved", journal__isnull=False)
                | ~models.Q(status="resolved") & models.Q(journal__isnull=True),
                name="explained_debits_have_their_journal",
            ),
        ]
        indexes = [
            models.Index(
                fields=["status"],
                name="unexplained_debit_open",
                condition=models.Q(status="open"),
            )
        ]

    def __str__(self) -> str:
        return (
            f"Import {self.batch_id} line {self.line_number}: "
            f"{format_pounds(self.amount_pence)} out"
        )
