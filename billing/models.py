"""The price book, councils' Stripe accounts, invoices, the usage ledger and the webhook inbox.

All in the public schema: they are the platform's records about councils, never a council's own.
"""

from django.db import models

from income.money import format_pounds
from tenants.models import Council


class PriceKind(models.TextChoices):
    BAND = "band", "Fixed monthly share by population band"
    TRANSACTION = "transaction", "Per transaction"
    STORAGE_GB = "storage_gb", "Per GB stored above the allowance"


class PriceBookRow(models.Model):
    """One price, effective from a date. A change is a new row: rows are never rewritten, so
    what a council was charged on any day can always be read back."""

    kind = models.CharField(max_length=20, choices=PriceKind.choices)
    # Bands only: the smallest population the band covers (the band runs to the next one's).
    population_from = models.PositiveIntegerField(default=0)
    amount_pence = models.PositiveIntegerField()
    # Storage only: gigabytes each council stores free.
    allowance_gb = models.PositiveIntegerField(default=0)
    effective_from = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)
    stripe_price_id = models.CharField(max_length=100, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "population_from", "effective_from"], name="one_price_per_day"
            )
        ]
        ordering = ["kind", "population_from", "effective_from"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} from {self.effective_from}: {self.amount_pence}p"

    @property
    def lookup_key(self) -> str:
        return f"counterfoil_{self.kind}_{self.population_from}_{self.effective_from:%Y%m%d}"


class BillingAccount(models.Model):
    """A council as a Stripe customer: who receives its invoices and what to quote on them."""

    council = models.OneToOneField(Council, on_delete=models.PROTECT, related_name="+")
    population = models.PositiveIntegerField(default=0)
    contact_name = models.CharField(max_length=200, blank=True)
    contact_email = models.EmailField(blank=True)
    address_line1 = models.CharField(max_length=200, blank=True)
    postal_code = models.CharField(max_length=10, blank=True)
    po_number = models.CharField(max_length=140, blank=True)
    stripe_customer_id = models.CharField(max_length=100, blank=True, db_index=True)
    stripe_subscription_id = models.CharField(max_length=100, blank=True)
    subscription_status = models.CharField(max_length=30, blank=True)
    # The Stripe event time of the subscription state we hold: an older event never wins.
    subscription_event_at = models.BigIntegerField(default=0)
    # When the subscription last moved to new prices (Stripe's time of its new items) and the
    # day those prices took effect: Stripe counts a new metered price's usage only from its
    # item's creation, so that day's usage must be reported no earlier (billing.actions.metering).
    prices_changed_at = models.BigIntegerField(default=0)
    prices_effective_on = models.DateField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Billing account of {self.council_id}"


class Invoice(models.Model):
    account = models.ForeignKey(BillingAccount, on_delete=models.PROTECT, related_name="invoices")
    stripe_id = models.CharField(max_length=100, unique=True)
    number = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=20)
    overdue = models.BooleanField(default=False)
    payment_failed = models.BooleanField(default=False)
    amount_due_pence = models.BigIntegerField(default=0)
    amount_paid_pence = models.BigIntegerField(default=0)
    hosted_invoice_url = models.URLField(max_length=500, blank=True)
    invoice_pdf = models.URLField(max_length=500, blank=True)
    due_date = models.BigIntegerField(null=True, blank=True)
    stripe_created = models.BigIntegerField(default=0)
    # The Stripe event time of the state we hold.
    event_at = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["-stripe_created"]

    def __str__(self) -> str:
        return self.number or self.stripe_id

    @property
    def amount_due_display(self) -> str:
        return format_pounds(self.amount_due_pence)


class Meter(models.TextChoices):
    TRANSACTIONS = "transactions", "Transactions"
    STORED_BYTES = "stored_bytes", "Stored bytes"


class UsageRecord(models.Model):
    """One council's count of one meter on one day, and whether Stripe has it yet."""

    council = models.ForeignKey(Council, on_delete=models.PROTECT, related_name="+")
    day = models.DateField()
    meter = models.CharField(max_length=20, choices=Meter.choices)
    quantity = models.BigIntegerField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["council", "day", "meter"], name="one_usage_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.council_id} {self.day} {self.meter}={self.quantity}"


class StripeEvent(models.Model):
    """The webhook inbox: each Stripe event once, whatever Stripe redelivers."""

    event_id = models.CharField(max_length=100, unique=True)
    type = models.CharField(max_length=100)
    created = models.BigIntegerField()
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"{self.event_id} {self.type}"


class OverdueReminder(models.Model):
    """A reminder about an overdue invoice, at 7, 30 or 60 days: the row is written before the
    email is sent, in one transaction, so each stage of each invoice goes out exactly once."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="reminders")
    stage = models.PositiveSmallIntegerField()
    recipients = models.JSONField(default=list)
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["invoice", "stage"], name="one_reminder_per_stage")
        ]

    def __str__(self) -> str:
        return f"{self.invoice} overdue {self.stage} days"


# The cost-sharing statement's models live in their own module; imported here so Django finds them.
from billing.cost_models import (  # noqa: E402, F401
    CostSharingFormula,
    PlatformCost,
    TrueUpSettlement,
)
