"""Bank reconciliation: the council's bank statements, line by line, each credit matched to
what the ledger expects to be banked (allpay's daily totals, GOV.UK Pay's payouts by settled
day, other card takings by day, authorised cash-ups), and each day signed off by a person."""

from django.db import models

from income.money import format_pounds


class BankStatement(models.Model):
    file_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64, unique=True)
    # The statement as the bank names it (camt.053 MsgId and Stmt/Id, MT940 :20: and :28C:):
    # the same statement sent again with a new creation time is known by it.
    statement_id = models.CharField(max_length=300, blank=True, db_index=True)
    format = models.CharField(max_length=30)
    line_count = models.PositiveIntegerField(default=0)
    unreadable = models.JSONField(default=list)  # [[line, reason], ...]
    uploaded_by_email = models.CharField(max_length=254, blank=True)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-uploaded_at", "-id"]

    def __str__(self) -> str:
        return f"Statement {self.pk}: {self.file_name}"


class MatchKind(models.TextChoices):
    ALLPAY = "allpay", "allpay daily total"
    CARD = "card", "Card takings for the day"
    GOVUK_PAY = "govuk_pay", "GOV.UK Pay payout"
    CASH_UP = "cash_up", "Cash-up banking"
    EXPLAINED = "explained", "Explained by a person"


class StatementLine(models.Model):
    statement = models.ForeignKey(BankStatement, on_delete=models.CASCADE, related_name="lines")
    line_number = models.PositiveIntegerField()
    booked_on = models.DateField()
    amount_pence = models.BigIntegerField()  # credits positive, debits negative
    reference = models.CharField(max_length=50, blank=True)
    narrative = models.CharField(max_length=300, blank=True)
    match_kind = models.CharField(max_length=20, choices=MatchKind.choices, blank=True)
    # What it matched, e.g. "allpay:2026-11-20", "govuk_pay:1:2026-12-03" (a GOV.UK Pay
    # service's payout for a day) or "cash_up:12"; one line per expectation.
    match_key = models.CharField(max_length=60, null=True, blank=True, unique=True)
    expected_pence = models.BigIntegerField(null=True, blank=True)
    note = models.TextField(blank=True)
    matched_by_email = models.CharField(max_length=254, blank=True)
    matched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["booked_on", "statement", "line_number"]
        indexes = [models.Index(fields=["booked_on"])]

    def __str__(self) -> str:
        return f"{self.booked_on} {format_pounds(self.amount_pence)} {self.reference}"

    @property
    def difference_pence(self) -> int:
        return self.amount_pence - (self.expected_pence or 0) if self.expected_pence else 0


class ReconciliationSignOff(models.Model):
    day = models.DateField(unique=True)
    signed_by_id = models.BigIntegerField(null=True, blank=True)
    signed_by_email = models.CharField(max_length=254)
    signed_at = models.DateTimeField(auto_now_add=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-day"]

    def __str__(self) -> str:
        return f"{self.day} signed off by {self.signed_by_email}"
