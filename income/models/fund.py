from django.db import models
from django.utils.translation import get_language

from income.models.channel import Channel
from income.models.vat import VatCode
from income.text_fields import validate_one_line


class FundGroup(models.Model):
    """Funds are grouped (e.g. Revenues, Housing, Parking); staff are given groups to work."""

    name = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class OverpaymentHandling(models.TextChoices):
    ACCEPT = "accept", "Accept into the fund"
    SUSPENSE = "suspense", "Put the excess in suspense"
    REFUSE = "refuse", "Refuse the payment"


class Fund(models.Model):
    """What money is for: Council Tax, Business Rates, Parking Fines…"""

    code = models.CharField(max_length=5, unique=True)
    name = models.CharField(max_length=200, validators=[validate_one_line])
    # What Welsh pages (the payment portal in Welsh) call it; blank: the name above.
    name_cy = models.CharField(
        "Name in Welsh", max_length=200, blank=True, validators=[validate_one_line]
    )
    description = models.TextField(blank=True)
    group = models.ForeignKey(
        FundGroup, null=True, blank=True, on_delete=models.PROTECT, related_name="funds"
    )
    vat_code = models.ForeignKey(VatCode, null=True, blank=True, on_delete=models.PROTECT)
    # Free text per council: what its general ledger calls this income.
    ledger_code = models.CharField(max_length=30, blank=True, validators=[validate_one_line])
    cost_centre = models.CharField(max_length=30, blank=True, validators=[validate_one_line])
    subjective = models.CharField(max_length=30, blank=True, validators=[validate_one_line])
    min_amount_pence = models.PositiveBigIntegerField(default=1)
    max_amount_pence = models.PositiveBigIntegerField(null=True, blank=True)
    channels = models.ManyToManyField(Channel, blank=True, related_name="funds")
    reference_rule = models.ForeignKey(
        "income.ReferenceRule", null=True, blank=True, on_delete=models.PROTECT,
        related_name="funds",
    )  # fmt: skip
    overpayment_handling = models.CharField(
        max_length=20, choices=OverpaymentHandling.choices, default=OverpaymentHandling.ACCEPT
    )
    refunds_allowed = models.BooleanField(default=True)
    # Offered to citizens on the council's payment portal.
    is_public = models.BooleanField(default=False)
    active_from = models.DateField(null=True, blank=True)
    active_to = models.DateField(null=True, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def display_name(self) -> str:
        """The fund's name in the language of the page being made: Welsh where it has one."""
        language = (get_language() or "en").split("-")[0]
        return self.name_cy if language == "cy" and self.name_cy else self.name
