from django.conf import settings
from django.db import models

from income.models.fund import FundGroup


class FundGroupAccess(models.Model):
    """A member of staff may work these fund groups. Admins and auditors see every fund; where
    a council has not grouped its funds, everyone sees every fund."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    group = models.ForeignKey(FundGroup, on_delete=models.CASCADE, related_name="access")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "group"], name="one_access_per_user_group")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} works {self.group}"
