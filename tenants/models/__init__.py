from tenants.models.archive import ArchiveStatus, CouncilArchive
from tenants.models.council import (
    Council,
    CouncilStatus,
    Domain,
    ProvisioningState,
    TenancyGeneration,
)
from tenants.models.identity_provider import CouncilIdentityProvider, IdentityProviderKind
from tenants.models.membership import CouncilRole, Membership
from tenants.models.onboarding import ApplicationStatus, CouncilApplication, Invitation
from tenants.models.snapshot import SchemaSnapshot, SpareSchema
from tenants.models.user import PlatformRole, User

__all__ = [
    "ApplicationStatus",
    "ArchiveStatus",
    "Council",
    "CouncilApplication",
    "CouncilArchive",
    "CouncilIdentityProvider",
    "CouncilRole",
    "CouncilStatus",
    "Domain",
    "IdentityProviderKind",
    "Invitation",
    "Membership",
    "PlatformRole",
    "ProvisioningState",
    "SchemaSnapshot",
    "SpareSchema",
    "TenancyGeneration",
    "User",
]
