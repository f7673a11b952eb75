from django.db import models


class Fund(models.Model):
    """What money is for: Council Tax, Business Rates, Parking Fines…"""

    code = models.CharField(max_length=5, unique=True)
    name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"
