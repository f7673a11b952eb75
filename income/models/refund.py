from django.db import models

from income.models.fund import Fund
from income.models.receipt import Receipt
from income.money import format_pounds
from tenants.models import CouncilRole


class RefundStatus(models.TextChoices):
    REQUESTED = "requested", "Awaiting approval"
    REJECTED = "rejected", "Rejected"
    APPROVED = "approved", "Approved: to be paid"
    SENT = "sent", "Sent to the card provider"
    PAID = "paid", "Paid"
    FAILED = "failed", "Failed"


class RefundRoute(models.TextChoices):
    CARD = "card", "Back to the card"
    COUNCIL = "council", "By the council's usual payment route"


class Refund(models.Model):
    """Money going back to a payer: raised by one person, approved by another."""

    receipt = models.ForeignKey(Receipt, on_delete=models.PROTECT, related_name="refunds")
    # None: refunded from suspense (money that never reached a fund).
    fund = models.ForeignKey(Fund, null=True, blank=True, on_delete=models.PROTECT)
    # The reference of the line refunded (a receipt split across funds holds one per line):
    # its postings carry it, and the refund's pages show it.
    reference = models.CharField(max_length=50, blank=True)
    amount_pence = models.BigIntegerField()
    reason = models.TextField()
    route = models.CharField(max_length=20, choices=RefundRoute.choices)
    status = models.CharField(
        max_length=20, choices=RefundStatus.choices, default=RefundStatus.REQUESTED
    )
    raised_by_id = models.BigIntegerField()
    raised_by_email = models.CharField(max_length=254)
    raised_at = models.DateTimeField(auto_now_add=True)
    decided_by_id = models.BigIntegerField(null=True, blank=True)
    decided_by_email = models.CharField(max_length=254, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    journal = models.OneToOneField(
        "income.Journal", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-raised_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount_pence__gt=0), name="refunds_positive"),
            # Segregation of duties, held by the database as well as the action.
            models.CheckConstraint(
                condition=models.Q(decided_by_id__isnull=True)
                | ~models.Q(decided_by_id=models.F("raised_by_id")),
                name="refund_decider_is_not_raiser",
            ),
        ]

    def __str__(self) -> str:
        return f"Refund of {format_pounds(self.amount_pence)} on {self.receipt.number}"


class RefundApprovalLimit(models.Model):
    """The largest refund a role may approve; a role without a row may approve none."""

    role = models.CharField(max_length=30, choices=CouncilRole.choices, unique=True)
    # None: no limit.
    max_amount_pence = models.PositiveBigIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        limit = (
            "no limit" if self.max_amount_pence is None else format_pounds(self.max_amount_pence)
        )
        return f"{self.get_role_display()}: {limit}"
