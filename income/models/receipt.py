from django.db import models
from django.db.models.functions import Now

from income.models.channel import Channel
from income.money import format_pounds


class ReceiptStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    REVERSED = "reversed", "Reversed"


class Receipt(models.Model):
    """One incoming payment. Where its money sits (funds, suspense, refunded) is read from the
    ledger's postings that name it; the receipt itself records what arrived."""

    # Unique by the constraints below rather than `unique=True`, which would add a second
    # index for LIKE searches nobody makes (on a text column, each receipt pays for both).
    number = models.CharField(max_length=20)
    amount_pence = models.BigIntegerField()
    # Channel and journal are checked per INSERT statement by a trigger, not by foreign-key
    # constraints checked row by row at commit (migration 0017); neither can be deleted.
    channel = models.ForeignKey(
        Channel, on_delete=models.PROTECT, related_name="receipts", db_constraint=False
    )
    received_on = models.DateField()
    payer_reference = models.CharField(max_length=50, blank=True)
    payer_name = models.CharField(max_length=200, blank=True)
    narrative = models.CharField(max_length=300, blank=True)
    # Unique per source (`govukpay:<payment id>`, `file:<sha256>:<line>`, `counter:<uuid>`): the
    # same payment arriving twice finds the first and changes nothing.
    idempotency_key = models.CharField(max_length=200)
    status = models.CharField(
        max_length=20, choices=ReceiptStatus.choices, default=ReceiptStatus.ACTIVE
    )
    # The database's clock (the transaction's start), so that an import's COPY leaves it out
    # rather than sending and parsing one timestamp per receipt.
    created_at = models.DateTimeField(db_default=Now())
    created_by_id = models.BigIntegerField(null=True, blank=True)
    # The journal that recorded it: its own, or for an imported line the journal of its chunk
    # of the file (income.imports.ledger_writing), shared with the chunk's other receipts.
    journal = models.ForeignKey(
        "income.Journal", on_delete=models.PROTECT, related_name="receipts_recorded",
        db_constraint=False,
    )  # fmt: skip
    # The payment file it came from, if any. No foreign-key constraint or btree index: a
    # million-line import would pay for both on every row (a BRIN index serves the lookups).
    import_batch = models.ForeignKey(
        "income.ImportBatch", null=True, blank=True, on_delete=models.DO_NOTHING,
        db_constraint=False, db_index=False, related_name="receipts",
    )  # fmt: skip
    # Which line of that file (its idempotency key names the line's identity, not its place).
    import_line_number = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-received_on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["number"], name="receipt_numbers_are_unique"),
            models.UniqueConstraint(
                fields=["idempotency_key"], name="one_receipt_per_idempotency_key"
            ),
            models.CheckConstraint(
                condition=models.Q(amount_pence__gt=0), name="receipts_are_positive"
            ),
        ]
        # Search indexes (trigrams, reference prefix, amount and date) are in migration 0005:
        # they use SQL functions Django's index API cannot express.

    def __str__(self) -> str:
        return f"{self.number} {format_pounds(self.amount_pence)}"
