from django.db import models


class VatCode(models.Model):
    """A VAT treatment, e.g. W0 standard 20%, N0 outside scope, E0 exempt, M0 zero-rated."""

    code = models.CharField(max_length=4, unique=True)
    name = models.CharField(max_length=100)
    # Hundredths of a percent: 2000 is 20%. Integers, like every amount here.
    rate_basis_points = models.PositiveIntegerField()
    effective_from = models.DateField(null=True, blank=True)
    effective_to = models.DateField(null=True, blank=True)
    is_disabled = models.BooleanField(default=False)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        whole, part = divmod(self.rate_basis_points, 100)
        return f"{self.code} ({whole}{f'.{part:02d}'.rstrip('0') if part else ''}%)"
