from django.conf import settings
from django.db import models

from tenants.models.council import Council
from tenants.models.membership import CouncilRole


class ApplicationStatus(models.TextChoices):
    PENDING = "pending", "Waiting for review"
    APPROVED = "approved", "Approved"
    DECLINED = "declined", "Declined"


class CouncilApplication(models.Model):
    """A council asking to join. An operator approves (which provisions it) or declines."""

    council_name = models.CharField(max_length=200)
    gss_code = models.CharField(max_length=9)
    requested_slug = models.CharField(max_length=30)
    contact_name = models.CharField(max_length=200)
    contact_email = models.EmailField()
    status = models.CharField(
        max_length=20, choices=ApplicationStatus.choices, default=ApplicationStatus.PENDING
    )
    submitted_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_reason = models.TextField(blank=True)
    council = models.OneToOneField(
        Council, null=True, blank=True, on_delete=models.PROTECT, related_name="application"
    )

    class Meta:
        ordering = ["submitted_at"]
        constraints = [
            # A code or subdomain is reserved only once an operator approves: the form is open
            # to anyone, and a pending application that reserved them would let a stranger
            # hold a council's own code hostage.
            models.UniqueConstraint(
                fields=["gss_code"],
                condition=models.Q(status="approved"),
                name="one_approved_application_per_gss_code",
            ),
            models.UniqueConstraint(
                fields=["requested_slug"],
                condition=models.Q(status="approved"),
                name="one_approved_application_per_slug",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.council_name} ({self.gss_code})"


class Invitation(models.Model):
    """An invitation to join a council in a role. The emailed link carries a token; only its
    SHA-256 is stored."""

    council = models.ForeignKey(Council, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=30, choices=CouncilRole.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"Invitation of {self.email} to {self.council} as {self.get_role_display()}"
