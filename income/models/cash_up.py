from django.db import models


class CashUpStatus(models.TextChoices):
    SUBMITTED = "submitted", "Submitted"
    AUTHORISED = "authorised", "Authorised"
    REJECTED = "rejected", "Returned to the cashier"


class CashUp(models.Model):
    """A cashier's return ("e-return"): cash by denomination and cheques, submitted by the
    cashier and authorised by someone else, which posts one journal to the bank.

    A cashier may cash up several times a day (one till after another, or again after a late
    payment): each cash-up covers the cash and cheque receipts of theirs that no earlier
    cash-up covered (CashUpReceipt), and expects exactly what those receipts add up to."""

    cashier_id = models.BigIntegerField()
    cashier_email = models.CharField(max_length=254)
    business_date = models.DateField()
    # Which till or counter was counted, as the cashier names it (optional).
    till = models.CharField(max_length=100, blank=True)
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
    # Issued with the form: pressing "Submit" twice makes one cash-up. Null for those made
    # before it existed.
    submission_key = models.CharField(max_length=100, null=True, blank=True, unique=True)
    submitted_at = models.DateTimeField(auto_now_add=True)
    authorised_by_id = models.BigIntegerField(null=True, blank=True)
    authorised_by_email = models.CharField(max_length=254, blank=True)
    authorised_at = models.DateTimeField(null=True, blank=True)
    journal = models.OneToOneField(
        "income.Journal", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Returned to the cashier instead (a miscount, a cheque in the wrong bag): by whom, when
    # and why. Its receipts are free to be counted again.
    returned_by_email = models.CharField(max_length=254, blank=True)
    returned_at = models.DateTimeField(null=True, blank=True)
    return_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-business_date", "-submitted_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(authorised_by_id__isnull=True)
                | ~models.Q(authorised_by_id=models.F("cashier_id")),
                name="cash_up_authoriser_is_not_cashier",
            ),
        ]

    def __str__(self) -> str:
        till = f", {self.till}" if self.till else ""
        return f"Cash-up of {self.cashier_email} for {self.business_date:%d %b %Y}{till}"

    @property
    def counted_pence(self) -> int:
        return self.cash_counted_pence + self.cheques_counted_pence

    @property
    def expected_pence(self) -> int:
        return self.expected_cash_pence + self.expected_cheques_pence

    @property
    def variance_pence(self) -> int:
        return self.counted_pence - self.expected_pence


class CashUpReceipt(models.Model):
    """A cash or cheque receipt covered by a cash-up. The receipt is unique here: each is
    cashed up once, however many cash-ups its cashier makes, even two submitted at once."""

    cash_up = models.ForeignKey(CashUp, on_delete=models.PROTECT, related_name="covered")
    receipt = models.OneToOneField(
        "income.Receipt", on_delete=models.PROTECT, related_name="cash_up_cover"
    )

    def __str__(self) -> str:
        return f"receipt {self.receipt_id} in cash-up {self.cash_up_id}"
