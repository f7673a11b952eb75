"""The cost-sharing statement's records: what the platform cost each month, the published
formula that shares it out, and each council's settled true-up for a financial year.

Public schema, beside the rest of billing (imported by billing.models so Django finds them).
"""

from decimal import Decimal

from django.db import models
from django.db.models import F, Q

from tenants.models import Council


class CostSource(models.TextChoices):
    MANUAL = "manual", "Entered by an operator"
    AWS_CUR = "aws_cur", "AWS Cost and Usage Report (CSV)"


class PlatformCost(models.Model):
    """What the platform really cost in one month under one category, in pence before VAT."""

    month = models.DateField(help_text="The first day of the month")
    category = models.CharField(max_length=100)
    amount_pence = models.BigIntegerField()
    source = models.CharField(max_length=20, choices=CostSource.choices)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["month", "category"], name="one_cost_per_category"),
            models.CheckConstraint(condition=Q(amount_pence__gte=0), name="cost_not_negative"),
            models.CheckConstraint(condition=Q(month__day=1), name="cost_month_first_day"),
        ]
        ordering = ["month", "category"]

    def __str__(self) -> str:
        return f"{self.month:%b %Y} {self.category}: {self.amount_pence}p"


class CostSharingFormula(models.Model):
    """The published weights that share a month's cost out, effective from a month. A change is
    a new row from this month on: a month already shared out is never re-weighted."""

    effective_from = models.DateField(unique=True, help_text="The first day of a month")
    fixed_percent = models.PositiveSmallIntegerField()
    transactions_percent = models.PositiveSmallIntegerField()
    storage_percent = models.PositiveSmallIntegerField()
    # How far a council's payments may stray from its share of actual cost before the year's
    # true-up is settled in Stripe.
    tolerance_percent = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal(3))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(fixed_percent=100 - F("transactions_percent") - F("storage_percent")),
                name="formula_weights_make_100",
            ),
            models.CheckConstraint(
                condition=Q(effective_from__day=1), name="formula_from_first_day"
            ),
        ]
        ordering = ["effective_from"]

    def __str__(self) -> str:
        return (
            f"From {self.effective_from:%b %Y}: fixed {self.fixed_percent}%, transactions "
            f"{self.transactions_percent}%, storage {self.storage_percent}%"
        )


class TrueUpOutcome(models.TextChoices):
    CREDIT_NOTE = "credit_note", "Credit note (paid more than its share)"
    CREDIT_ITEM = "credit_item", "Credit on the next invoice (paid more than its share)"
    INVOICE_ITEM = "invoice_item", "Added to the next invoice (paid less than its share)"
    WITHIN_TOLERANCE = "within_tolerance", "Within the tolerance: nothing to settle"


class TrueUpSettlement(models.Model):
    """A council's financial year settled once: what it paid against its share of actual
    cost, and what Stripe was asked to do about the difference."""

    council = models.ForeignKey(Council, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField(help_text="The financial year starting 1 April")
    paid_pence = models.BigIntegerField()
    share_pence = models.BigIntegerField()
    difference_pence = models.BigIntegerField(help_text="Paid less share, before VAT")
    tolerance_percent = models.DecimalField(max_digits=5, decimal_places=2)
    outcome = models.CharField(max_length=20, choices=TrueUpOutcome.choices)
    stripe_id = models.CharField(max_length=100, blank=True)
    settled_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["council", "year"], name="one_true_up_per_year")
        ]

    def __str__(self) -> str:
        return f"True-up {self.year} of {self.council_id}: {self.outcome}"
