"""GOV.UK Pay in a council's schema: its connection(s), the payments we asked for, the webhook
inbox and refunds sent back through GOV.UK Pay."""

from django.db import models

from income.models.fund import Fund
from income.models.ledger import Journal
from income.models.receipt import Receipt
from income.models.refund import Refund
from income.money import format_pounds


class GovukPayConnection(models.Model):
    """One GOV.UK Pay service (one API key, one bank account). The council's default has no
    fund; a fund may have its own service (some councils keep several)."""

    fund = models.OneToOneField(
        Fund, null=True, blank=True, on_delete=models.PROTECT, related_name="govuk_pay_connection"
    )
    base_url = models.URLField(default="https://publicapi.payments.service.gov.uk")
    # Fernet tokens (tenants.secrets_at_rest); the plain values are never stored.
    api_key_encrypted = models.TextField(blank=True)
    api_key_last_characters = models.CharField(max_length=8, blank=True)
    webhook_secret_encrypted = models.TextField(blank=True)
    webhook_secret_last_characters = models.CharField(max_length=8, blank=True)
    welsh_enabled = models.BooleanField(default=False)
    last_tested_at = models.DateTimeField(null=True, blank=True)
    last_test_result = models.CharField(max_length=300, blank=True)
    last_mop_up_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                models.Value(1),
                condition=models.Q(fund__isnull=True),
                name="one_default_govuk_pay_connection",
            )
        ]

    def __str__(self) -> str:
        return f"GOV.UK Pay for {self.fund.code if self.fund else 'the council'}"

    @property
    def is_ready(self) -> bool:
        return bool(self.api_key_encrypted)


class PaymentOrigin(models.TextChoices):
    PORTAL = "portal", "Paid online by the payer"
    PHONE = "phone", "Taken by staff over the phone"


class PaymentStatus(models.TextChoices):
    # Ours, before GOV.UK Pay answered: the payment may not exist there.
    CREATING = "creating", "Being created"
    NOT_CREATED = "not_created", "GOV.UK Pay was not available"
    # GOV.UK Pay's own states.
    CREATED = "created", "Created"
    STARTED = "started", "Started"
    SUBMITTED = "submitted", "Submitted"
    CAPTURABLE = "capturable", "Capturable"
    SUCCESS = "success", "Paid"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    ERROR = "error", "Error"


FINISHED_STATUSES = frozenset({"success", "failed", "cancelled", "error", "not_created"})
# A payment only moves forward: an older message arriving late never takes it back. Our own
# "not created" is lowest: if GOV.UK Pay did make the payment after all, its state wins.
STATUS_RANK = {
    "not_created": 0,
    "creating": 0,
    "created": 1,
    "started": 2,
    "submitted": 3,
    "capturable": 4,
    "success": 9,
    "failed": 9,
    "cancelled": 9,
    "error": 9,
}


class GovukPayPayment(models.Model):
    """A payment we asked GOV.UK Pay to take: one basket (or one phone call), one or more items."""

    connection = models.ForeignKey(
        GovukPayConnection, on_delete=models.PROTECT, related_name="payments"
    )
    # Ours, sent as the GOV.UK Pay `reference`; never in the return URL.
    reference = models.CharField(max_length=40, unique=True)
    # The only thing the return URL carries.
    return_token = models.CharField(max_length=64, unique=True)
    payment_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    amount_pence = models.BigIntegerField()
    description = models.CharField(max_length=255)
    language = models.CharField(max_length=2, default="en")
    origin = models.CharField(max_length=10, choices=PaymentOrigin.choices)
    payer_name = models.CharField(max_length=200, blank=True)
    status = models.CharField(
        max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.CREATING
    )
    failure_code = models.CharField(max_length=10, blank=True)
    failure_message = models.CharField(max_length=200, blank=True)
    next_url = models.URLField(max_length=2000, blank=True)
    receipt = models.OneToOneField(
        Receipt, null=True, blank=True, on_delete=models.PROTECT, related_name="govuk_pay_payment"
    )
    # Settlement, for matching GOV.UK Pay's payouts on the bank statement.
    capture_submitted_at = models.DateTimeField(null=True, blank=True)
    captured_on = models.DateField(null=True, blank=True)
    settled_on = models.DateField(null=True, blank=True)
    # The payment service provider's fee, as GOV.UK Pay reports it (Stripe-backed services
    # only; Worldpay's are invoiced separately, so theirs stays empty). The payout is the
    # amount less this fee.
    fee_pence = models.BigIntegerField(null=True, blank=True)
    # Dr fees, Cr card clearing: posted once, when the payout that took the fee is known.
    fee_journal = models.OneToOneField(
        Journal, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    refund_amount_available_pence = models.BigIntegerField(null=True, blank=True)
    created_by_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount_pence__gt=0), name="govuk_pay_payments_are_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(fee_pence__isnull=True)
                | models.Q(fee_pence__gte=0, fee_pence__lte=models.F("amount_pence")),
                name="govuk_pay_fees_within_the_amount",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"]),
            # Reconciliation reads a day's payout: only settled payments are in this index.
            models.Index(
                fields=["settled_on"],
                condition=models.Q(settled_on__isnull=False),
                name="govuk_pay_payments_settled",
            ),
            # Captured by a Stripe-backed service, not paid out yet: a few days' payments.
            models.Index(
                fields=["id"],
                condition=models.Q(
                    status="success", settled_on__isnull=True, fee_pence__isnull=False
                ),
                name="govuk_pay_payments_to_settle",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {format_pounds(self.amount_pence)} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_STATUSES


class GovukPayPaymentItem(models.Model):
    """One thing paid for in a basket: a fund, its reference and an amount."""

    payment = models.ForeignKey(GovukPayPayment, on_delete=models.CASCADE, related_name="items")
    fund = models.ForeignKey(Fund, on_delete=models.PROTECT, related_name="+")
    reference = models.CharField(max_length=50)
    amount_pence = models.BigIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount_pence__gt=0), name="govuk_pay_items_are_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.fund.code} {self.reference} {format_pounds(self.amount_pence)}"


class WebhookOutcome(models.TextChoices):
    PENDING = "pending", "Not yet applied"
    APPLIED = "applied", "Applied"
    UNCHANGED = "unchanged", "Nothing new"
    UNKNOWN_PAYMENT = "unknown_payment", "Not a payment of ours: ignored"
    IGNORED = "ignored", "Ignored"


class GovukPayWebhookMessage(models.Model):
    """The inbox: every webhook message once (unique on GOV.UK Pay's message id), with card
    and cardholder data removed before it was stored."""

    webhook_message_id = models.CharField(max_length=100, unique=True)
    # No index of its own: every webhook inserts a row here, and each index costs every insert.
    connection = models.ForeignKey(
        GovukPayConnection,
        on_delete=models.PROTECT,
        related_name="webhook_messages",
        db_index=False,
    )
    event_type = models.CharField(max_length=50)
    resource_id = models.CharField(max_length=64)
    body = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    outcome = models.CharField(
        max_length=20, choices=WebhookOutcome.choices, default=WebhookOutcome.PENDING
    )
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]  # arrival order, read from the primary key's index
        # Only the messages still to apply: a small index, whatever the inbox's size.
        indexes = [
            models.Index(
                fields=["id"],
                condition=models.Q(outcome="pending"),
                name="govuk_pay_inbox_pending",
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.resource_id} ({self.outcome})"


class CardRefundStatus(models.TextChoices):
    PENDING = "pending", "To be sent to GOV.UK Pay"
    SUBMITTED = "submitted", "Submitted to GOV.UK Pay"
    SUCCESS = "success", "Refunded by GOV.UK Pay"
    ERROR = "error", "GOV.UK Pay could not refund it"


class GovukPayRefund(models.Model):
    """An approved card refund on its way back through GOV.UK Pay."""

    refund = models.OneToOneField(Refund, on_delete=models.PROTECT, related_name="govuk_pay")
    payment = models.ForeignKey(GovukPayPayment, on_delete=models.PROTECT, related_name="refunds")
    amount_pence = models.BigIntegerField()
    govuk_refund_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    status = models.CharField(
        max_length=20, choices=CardRefundStatus.choices, default=CardRefundStatus.PENDING
    )
    error = models.CharField(max_length=300, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    settled_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Card refund {format_pounds(self.amount_pence)} ({self.status})"
