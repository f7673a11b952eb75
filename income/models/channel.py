from django.db import models


class ChannelKind(models.TextChoices):
    CASH = "cash", "Cash"
    CHEQUE = "cheque", "Cheque"
    CARD = "card", "Card (GOV.UK Pay)"
    ALLPAY_POST_OFFICE = "allpay_post_office", "allpay Post Office"
    ALLPAY_PAYPOINT = "allpay_paypoint", "allpay PayPoint"
    BANK_TRANSFER = "bank_transfer", "Bank transfer"
    DIRECT_DEBIT = "direct_debit", "Direct Debit"
    JOURNAL = "journal", "Journal"
    TRANSFER = "transfer", "Transfer"


class Channel(models.Model):
    """A method of payment (MOP): how money arrives, with its limits and flags."""

    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=30, choices=ChannelKind.choices)
    min_amount_pence = models.PositiveBigIntegerField(default=1)
    max_amount_pence = models.PositiveBigIntegerField(null=True, blank=True)
    # Staff take it at a counter or on the phone (cash, cheque); others arrive by file or API.
    taken_by_staff = models.BooleanField(default=False)
    is_disabled = models.BooleanField(default=False)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name
