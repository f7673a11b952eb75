from django.conf import settings
from django.db import models

from tenants.models.council import Council


class CouncilRole(models.TextChoices):
    ADMIN = "admin", "Council admin"
    FINANCE_MANAGER = "finance_manager", "Finance manager"
    INCOME_OFFICER = "income_officer", "Income officer"
    AUDITOR = "auditor", "Auditor (read-only)"


class Membership(models.Model):
    """A person's role at one council. Without one, the council's host shows them nothing."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    council = models.ForeignKey(Council, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=30, choices=CouncilRole.choices)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "council"], name="one_membership_per_council")
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} at {self.council}"
