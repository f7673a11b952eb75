"""Exports to back-office systems: each target's layout, each run's file, and which receipts
went to which target (each receipt goes to each target once)."""

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


class ExportRun(models.Model):
    """One file made for a target: kept byte for byte, with what it holds."""

    target = models.ForeignKey(ExportTarget, on_delete=models.PROTECT, related_name="runs")
    file_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    size_bytes = models.BigIntegerField(default=0)
    line_count = models.PositiveIntegerField(default=0)
    receipt_count = models.PositiveIntegerField(default=0)
    total_pence = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by_id = models.BigIntegerField(null=True, blank=True)
    created_by_email = models.CharField(max_length=254, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Export {self.pk} to {self.target}"


class ExportedReceipt(models.Model):
    target = models.ForeignKey(ExportTarget, on_delete=models.PROTECT, related_name="+")
    run = models.ForeignKey(ExportRun, on_delete=models.PROTECT, related_name="receipts")
    receipt = models.ForeignKey("income.Receipt", on_delete=models.PROTECT, related_name="+")
    amount_pence = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["target", "receipt"], name="a_receipt_goes_to_a_target_once"
            )
        ]

    def __str__(self) -> str:
        return f"receipt {self.receipt_id} in export {self.run_id}"
