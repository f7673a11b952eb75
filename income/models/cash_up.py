from django.db import models


class CashUpStatus(models.TextChoices):
    SUBMITTED = "submitted", "Submitted"
    AUTHORISED = "authorised", "Authorised"
    REJECTED = "rejected", "Returned to the cashier"


class CashUp(models.Model):
    """A cashier's daily return ("e-return"): cash by denomination and cheques, submitted by the
    cashier and authorised by someone else, which posts one journal to the bank."""

    cashier_id = models.BigIntegerField()
    cashier_email = models.CharField(max_length=254)
    business_date = models.DateField()
    # {"5000": 3, "2000": 10, ...}: pence value of a note or coin → how many.
    denominations = models.JSONField(default=dict)
    cheques = models.JSONField(default=list)  # [{"drawer": ..., "amount_pence": ...}]
    cash_counted_pence = models.BigIntegerField()
    cheques_counted_pence = models.BigIntegerField()
    expected_cash_pence = models.BigIntegerField()
    expected_cheques_pence = models.BigIntegerField()
    status = models.CharField(
        max_length=20, choices=CashUpStatus.choices, default=CashUpStatus.SUBMITTED
    )
    note = models.TextField(blank=True)
    submitted_at = models.DateTimeField(auto_now_add=True)
    authorised_by_id = models.BigIntegerField(null=True, blank=True)
    authorised_by_email = models.CharField(max_length=254, blank=True)
    authorised_at = models.DateTimeField(null=True, blank=True)
    journal = models.OneToOneField(
        "income.Journal", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-business_date", "-submitted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["cashier_id", "business_date"],
                condition=~models.Q(status="rejected"),
                name="one_standing_cash_up_per_cashier_day",
            ),
            models.CheckConstraint(
                condition=models.Q(authorised_by_id__isnull=True)
                | ~models.Q(authorised_by_id=models.F("cashier_id")),
                name="cash_up_authoriser_is_not_cashier",
            ),
        ]

    def __str__(self) -> str:
        return f"Cash-up of {self.cashier_email} for {self.business_date:%d %b %Y}"

    @property
    def variance_pence(self) -> int:
        counted = self.cash_counted_pence + self.cheques_counted_pence
        return counted - (self.expected_cash_pence + self.expected_cheques_pence)
