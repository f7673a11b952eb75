"""Payment files imported into a council: the batch, its rejected and suspended lines, the
council's import rules and its saved CSV column mappings."""

from django.db import models

from income.formats.records import CsvMappingSpec
from income.models.channel import Channel
from income.models.fund import Fund
from income.models.ledger import Journal
from income.money import format_pounds


class ImportStatus(models.TextChoices):
    QUEUED = "queued", "Waiting to start"
    RUNNING = "running", "Importing"
    COMPLETED = "completed", "Imported"
    REFUSED = "refused", "Refused"
    FAILED = "failed", "Stopped: nothing imported"
    REVERSED = "reversed", "Reversed"
    # The file's own checks failed (its trailer, control totals or balances): nothing is
    # posted until someone allowed to decides to import it anyway, or cancels it.
    HELD = "held", "Held: the file is damaged"
    CANCELLED = "cancelled", "Cancelled: nothing imported"


# A file refused, stopped or cancelled may be uploaded again; one imported or held (waiting
# for a decision) may not.
RETRYABLE_STATUSES = (ImportStatus.REFUSED, ImportStatus.FAILED, ImportStatus.CANCELLED)
# Nor may an import reversed block its file: a council that fixed a rule imports it again.
NOT_BLOCKING_STATUSES = (*RETRYABLE_STATUSES, ImportStatus.REVERSED)


class CsvMapping(models.Model):
    """Which column of a council's CSV file holds what (1-based; 0 when the file has none)."""

    name = models.CharField(max_length=100, unique=True)
    delimiter = models.CharField(max_length=1, default=",")
    header_rows = models.PositiveSmallIntegerField(default=1)
    date_format = models.CharField(
        max_length=30, default="%d/%m/%Y", help_text="For example %d/%m/%Y or %Y-%m-%d"
    )
    date_column = models.PositiveSmallIntegerField(default=0)
    amount_column = models.PositiveSmallIntegerField(
        default=0, help_text="One signed amount column; or leave 0 and give money in and out"
    )
    credit_column = models.PositiveSmallIntegerField("Money in column", default=0)
    debit_column = models.PositiveSmallIntegerField("Money out column", default=0)
    reference_column = models.PositiveSmallIntegerField(default=0)
    narrative_column = models.PositiveSmallIntegerField(default=0)
    payer_name_column = models.PositiveSmallIntegerField(default=0)
    currency_column = models.PositiveSmallIntegerField(default=0)
    channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="How the money arrived (bank transfer if not given)",
    )  # fmt: skip

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def spec(self) -> CsvMappingSpec:
        return CsvMappingSpec(
            delimiter=self.delimiter or ",",
            header_rows=self.header_rows,
            date_format=self.date_format,
            date_column=self.date_column,
            amount_column=self.amount_column,
            credit_column=self.credit_column,
            debit_column=self.debit_column,
            reference_column=self.reference_column,
            narrative_column=self.narrative_column,
            payer_name_column=self.payer_name_column,
            currency_column=self.currency_column,
            channel_code=self.channel.code if self.channel_id else "BANK",
        )


class ImportRule(models.Model):
    """LocalGov IMS-style processing rule: when every condition holds, set the fund, the
    reference or the channel. Rules run in order, before funds' reference rules; the first
    rule that matches a line is the one applied."""

    name = models.CharField(max_length=100, unique=True)
    position = models.PositiveIntegerField(default=100, help_text="Lower numbers run first")
    # [{"field": "reference", "operator": "starts_with", "value": "PCN"}, ...]
    conditions = models.JSONField(default=list)
    set_fund = models.ForeignKey(
        Fund, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    set_reference = models.CharField(max_length=50, blank=True)
    set_channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class ImportBatch(models.Model):
    """One uploaded payment file and what became of each of its lines."""

    file_name = models.CharField(max_length=255)
    # The bytes as uploaded (where the file is stored), and the content whatever its line
    # endings and trailing blank lines (what says it is the same file as another).
    sha256 = models.CharField(max_length=64)
    content_sha256 = models.CharField(max_length=64, blank=True)
    # The statement a bank may send again under a new creation time (camt.053, MT940).
    statement_id = models.CharField(max_length=300, blank=True)
    size_bytes = models.BigIntegerField()
    format = models.CharField(max_length=30)
    mapping = models.ForeignKey(
        CsvMapping, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The day for records whose file carries none (a BACS file without its UHL1 label).
    default_date = models.DateField()
    status = models.CharField(
        max_length=20, choices=ImportStatus.choices, default=ImportStatus.QUEUED
    )
    message = models.TextField(blank=True)
    # Progress, written by the worker from its own connection while the import runs.
    phase = models.CharField(max_length=100, blank=True)
    bytes_read = models.BigIntegerField(default=0)
    lines_read = models.PositiveIntegerField(default=0)
    # The summary.
    receipts_created = models.PositiveIntegerField(default=0)
    receipts_pence = models.BigIntegerField(default=0)
    adjustments_count = models.PositiveIntegerField(default=0)
    adjustments_pence = models.BigIntegerField(default=0)
    suspense_count = models.PositiveIntegerField(default=0)
    suspense_pence = models.BigIntegerField(default=0)
    # Of the money taken back (adjustments_*), the debits no receipt explains: they wait on
    # the unexplained debits worklist.
    unexplained_debits_count = models.PositiveIntegerField(default=0)
    unexplained_debits_pence = models.BigIntegerField(default=0)
    rejected_count = models.PositiveIntegerField(default=0)
    # Lines an earlier import already brought in, held back (income.models.possible_duplicate).
    duplicates_count = models.PositiveIntegerField(default=0)
    duplicates_pence = models.BigIntegerField(default=0)
    fund_totals = models.JSONField(default=list)
    # The file's own checks that failed (income.formats.records.FileTotals), each in words
    # showing both totals: the file is damaged, and its import held. What the file holds
    # (lines, money in and out) is kept beside them for whoever decides.
    problems = models.JSONField(default=list, blank=True)
    held_summary = models.JSONField(default=dict, blank=True)
    # Someone allowed to decided: import the damaged file anyway, or cancel it; who, why, when.
    import_anyway = models.BooleanField(default=False)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by_email = models.CharField(max_length=254, blank=True)
    decision_reason = models.TextField(blank=True)
    adjustment_journal = models.OneToOneField(
        Journal, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reversal_journal = models.OneToOneField(
        Journal, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_by_id = models.BigIntegerField(null=True, blank=True)
    uploaded_by_email = models.CharField(max_length=254, blank=True)
    uploaded_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversed_by_email = models.CharField(max_length=254, blank=True)
    reversal_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        constraints = [
            # The same file is imported once (unless it was refused, stopped, cancelled or
            # reversed).
            models.UniqueConstraint(
                fields=["content_sha256"],
                condition=~models.Q(status__in=["refused", "failed", "cancelled", "reversed"]),
                name="a_file_is_imported_once",
            ),
            models.UniqueConstraint(
                fields=["statement_id"],
                condition=~models.Q(statement_id="")
                & ~models.Q(status__in=["refused", "failed", "reversed"]),
                name="a_statement_is_imported_once",
            ),
        ]

    def __str__(self) -> str:
        return f"Import {self.pk}: {self.file_name}"

    @property
    def is_finished(self) -> bool:
        return self.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING)

    @property
    def percent_done(self) -> int:
        if self.is_finished:
            return 100
        if not self.size_bytes:
            return 0
        # Reading the file is most of the work; allocating and posting is the last tenth.
        share = 90 * self.bytes_read // self.size_bytes
        return min(99, share + (9 if self.phase.startswith("Allocating") else 0))

    @property
    def lines_accounted(self) -> int:
        return (
            self.receipts_created
            + self.adjustments_count
            + self.rejected_count
            + self.duplicates_count
        )


class ImportRejectedLine(models.Model):
    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="rejected")
    line_number = models.PositiveIntegerField()
    content = models.TextField()
    reason = models.TextField()

    class Meta:
        ordering = ["batch", "line_number", "id"]
        indexes = [models.Index(fields=["batch", "line_number"])]

    def __str__(self) -> str:
        return f"line {self.line_number}: {self.reason}"


class ImportSuspendedLine(models.Model):
    """A line whose money went to suspense (or, for money going back, was taken from it),
    and why: the suspense worklist's explanation."""

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="suspended")
    line_number = models.PositiveIntegerField()
    receipt = models.ForeignKey(
        "income.Receipt", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    amount_pence = models.BigIntegerField()
    reference = models.CharField(max_length=50, blank=True)
    reason = models.TextField()

    class Meta:
        ordering = ["batch", "line_number"]
        indexes = [models.Index(fields=["batch", "line_number"])]

    def __str__(self) -> str:
        return f"line {self.line_number} {format_pounds(self.amount_pence)}: {self.reason}"


class ImportAdjustment(models.Model):
    """A line that takes money back (an allpay adjustment or returned cheque, a bank debit or
    reversal): posted in the batch's adjustment journal, from the one receipt it identifies
    (wherever that receipt's money sits), or to the unexplained debits account."""

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="adjustments")
    line_number = models.PositiveIntegerField()
    amount_pence = models.BigIntegerField()  # positive: the money taken back
    reference = models.CharField(max_length=50, blank=True)
    narrative = models.CharField(max_length=300, blank=True)
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="+")
    fund = models.ForeignKey(
        Fund, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    received_on = models.DateField()
    # The receipt the line took its money back from; none when no receipt explains it.
    receipt = models.ForeignKey(
        "income.Receipt", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    unexplained = models.BooleanField(default=False)
    # The line's key (income.imports.line_keys), as a receipt's idempotency key is for money
    # in: money out of an overlapping file is recognised as already imported too, and held
    # as a possible duplicate instead of being taken back twice. Empty for lines imported
    # before keys were kept.
    line_key = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["batch", "line_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["line_key"],
                condition=~models.Q(line_key=""),
                name="one_money_out_line_per_key",
            ),
        ]

    def __str__(self) -> str:
        return f"line {self.line_number} {format_pounds(-self.amount_pence)}"


class ReturnedDebitStatus(models.TextChoices):
    REVERSED = "reversed", "Receipt reversed"
    UNMATCHED = "unmatched", "No receipt found"
    REJECTED = "rejected", "Could not be read"


class ReturnedDebit(models.Model):
    """One Direct Debit returned unpaid (from an ARUDD report): its original receipt reversed
    with the reason code, or left on the worklist when no receipt matches."""

    # arudd:<sha256 of the report>:<item number>: a report applied twice changes nothing.
    idempotency_key = models.CharField(max_length=100, unique=True)
    file_name = models.CharField(max_length=255)
    item_number = models.PositiveIntegerField()
    reference = models.CharField(max_length=50, blank=True)
    amount_pence = models.BigIntegerField(default=0)
    original_date = models.DateField(null=True, blank=True)
    return_code = models.CharField(max_length=10, blank=True)
    return_description = models.CharField(max_length=100, blank=True)
    payer_name = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=20, choices=ReturnedDebitStatus.choices)
    reason = models.TextField(blank=True)
    receipt = models.ForeignKey(
        "income.Receipt", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by_email = models.CharField(max_length=254, blank=True)

    class Meta:
        ordering = ["-created_at", "item_number"]

    def __str__(self) -> str:
        return f"Returned Direct Debit {self.reference} {format_pounds(self.amount_pence)}"
