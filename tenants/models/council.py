from django.db import models
from django_tenants.models import DomainMixin, TenantMixin

from tenants.schema_names import validate_schema_name


class CouncilStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    CLOSING = "closing", "Closing"
    CLOSED = "closed", "Closed"


# Councils whose hosts answer; the others exist only in the operator console.
SERVED_STATUSES = frozenset({CouncilStatus.ACTIVE, CouncilStatus.SUSPENDED})


class ProvisioningState(models.TextChoices):
    NOT_STARTED = "not_started", "Not started"
    SCHEMA_BUILT = "schema_built", "Schema built"
    SEEDED = "seeded", "Defaults seeded"
    READY = "ready", "Ready"


class Council(TenantMixin):
    """A council: the tenant. Its income data lives in its own PostgreSQL schema."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=30, unique=True)
    status = models.CharField(
        max_length=20, choices=CouncilStatus.choices, default=CouncilStatus.PENDING
    )
    created = models.DateTimeField(auto_now_add=True)
    # ONS/GSS local-authority code, e.g. E08000016 (Barnsley); unique when given.
    gss_code = models.CharField(max_length=9, unique=True, null=True, blank=True)
    status_reason = models.TextField(blank=True)
    status_changed = models.DateTimeField(null=True, blank=True)
    provisioning_state = models.CharField(
        max_length=20, choices=ProvisioningState.choices, default=ProvisioningState.NOT_STARTED
    )
    last_activity = models.DateTimeField(null=True, blank=True)

    # Provisioning is our own action (tenants.actions.provisioning), never a side effect of save().
    auto_create_schema = False
    auto_drop_schema = False

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: object, **kwargs: object) -> None:
        validate_schema_name(self.schema_name)
        super().save(*args, **kwargs)

    @property
    def is_served(self) -> bool:
        return self.status in SERVED_STATUSES


class DomainVerification(models.TextChoices):
    PLATFORM = "platform", "Platform subdomain"
    DNS = "dns", "DNS TXT record"
    OPERATOR = "operator", "Confirmed by an operator"


class Domain(DomainMixin):
    """A host name a council answers on: <slug>.<platform domain>, or its own (.gov.uk) name.

    A council's own name answers only once verified (a DNS TXT record carrying the token, or an
    operator's confirmation), so nobody can point a host they do not control at a council.
    """

    # Not unique by itself (django-tenants' is): an unverified claim reserves nothing, so
    # several councils may claim one name and only the one that proves it holds it. A verified
    # name is unique (the constraint below), and one council claims a name once.
    domain = models.CharField(max_length=253, db_index=True)
    verification_token = models.CharField(max_length=64, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    verification_method = models.CharField(
        max_length=20, choices=DomainVerification.choices, blank=True
    )

    class Meta:
        ordering = ["domain"]
        constraints = [
            models.UniqueConstraint(
                fields=["domain"],
                condition=models.Q(verified_at__isnull=False),
                name="a_verified_host_name_is_unique",
            ),
            models.UniqueConstraint(
                fields=["domain", "tenant"], name="a_council_claims_a_host_name_once"
            ),
        ]

    def __str__(self) -> str:
        return self.domain


class TenancyGeneration(models.Model):
    """One row whose value a trigger bumps on every council or domain change (cache key)."""

    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"tenancy generation {self.value}"
