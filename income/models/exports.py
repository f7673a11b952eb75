"""Exports to back-office systems: each target's layout, and each run's file with the ledger
snapshot that says what it holds (each posting goes to each target once)."""

from django.contrib.postgres.fields import ArrayField
from django.db import models

from income.models.fund import Fund


class ExportLayout(models.TextChoices):
    CSV = "csv", "CSV"
    FIXED = "fixed", "Fixed width"
    GL_JOURNAL = "gl_journal", "General-ledger journal (CSV, summarised per day)"


class AmountFormat(models.TextChoices):
    POUNDS = "pounds", "Pounds and pence (123.45)"
    PENCE = "pence", "Pence (12345)"


class ExportTarget(models.Model):
    """A back-office system (revenues and benefits, housing, the general ledger) and the
    layout of the file it takes."""

    name = models.CharField(max_length=100, unique=True)
    layout = models.CharField(max_length=10, choices=ExportLayout.choices, default="csv")
    # [{"field": "reference", "width": 16, "align": "left", "pad": " "}, ...]
    fields = models.JSONField(default=list)
    delimiter = models.CharField(max_length=1, default=",")
    include_header = models.BooleanField(default=True)
    include_trailer = models.BooleanField(
        default=True, help_text="A last line with the number of lines and their total"
    )
    date_format = models.CharField(max_length=30, default="%d/%m/%Y")
    amount_format = models.CharField(
        max_length=10, choices=AmountFormat.choices, default=AmountFormat.POUNDS
    )
    funds = models.ManyToManyField(
        Fund, blank=True, related_name="+", help_text="None chosen: every fund"
    )
    # For a general-ledger journal: the ledger code each day's total is debited to.
    control_ledger_code = models.CharField(
        max_length=30, blank=True, help_text="General-ledger journals: the bank or control code"
    )
    # Made every day by `manage.py run_daily_exports` (run it from cron or a scheduler).
    runs_daily = models.BooleanField(
        default=False, help_text="Make this export every day, without anyone asking"
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ExportStatus(models.TextChoices):
    QUEUED = "queued", "Waiting to start"
    RUNNING = "running", "Being made"
    COMPLETED = "completed", "Made"
    FAILED = "failed", "Failed"


class ExportRun(models.Model):
    """One file made for a target: kept byte for byte, with what it holds.

    A run holds every posting to the target's funds whose transaction committed after the
    previous run's snapshot and by its own (income.exports.window): each movement of money
    into or out of those funds (a receipt, an allocation from suspense, a transfer, a refund,
    a reversal) goes to each target once, however transactions interleave. The snapshot is
    PostgreSQL's (`pg_current_snapshot()`), kept as its three parts."""

    target = models.ForeignKey(ExportTarget, on_delete=models.PROTECT, related_name="runs")
    status = models.CharField(
        max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_by_id = models.BigIntegerField(null=True, blank=True)
    created_by_email = models.CharField(max_length=254, blank=True)
    # The run this one follows on from: its snapshot is where this one's window opens.
    previous = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="next"
    )
    snapshot_xmin = models.BigIntegerField(null=True, blank=True)
    snapshot_xmax = models.BigIntegerField(null=True, blank=True)
    snapshot_xip = ArrayField(models.BigIntegerField(), default=list, blank=True)
    # A run made inside a transaction that also wrote postings (a test; a script) sees its
    # own transaction's postings up to this id; later ones follow in the next run.
    own_xact_id = models.BigIntegerField(null=True, blank=True)
    own_last_posting_id = models.BigIntegerField(null=True, blank=True)
    # The fund accounts it took postings from, so its contents can be listed again later
    # whatever happens to the target's funds.
    account_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    first_posting_id = models.BigIntegerField(null=True, blank=True)
    last_posting_id = models.BigIntegerField(null=True, blank=True)
    file_name = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    size_bytes = models.BigIntegerField(default=0)
    line_count = models.PositiveIntegerField(default=0)
    # What came into the funds, what went back out of them, and the net of the two.
    income_pence = models.BigIntegerField(default=0)
    outgoing_pence = models.BigIntegerField(default=0)
    total_pence = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One run at a time per target waits or is being made: "Export now" pressed
            # twice queues one.
            models.UniqueConstraint(
                fields=["target"],
                condition=models.Q(status__in=["queued", "running"]),
                name="one_export_under_way_per_target",
            ),
        ]

    def __str__(self) -> str:
        return f"Export {self.pk} to {self.target}"

    @property
    def is_finished(self) -> bool:
        return self.status in (ExportStatus.COMPLETED, ExportStatus.FAILED)
