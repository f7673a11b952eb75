from tenants.models.council import (
    Council,
    CouncilStatus,
    Domain,
    ProvisioningState,
    TenancyGeneration,
)
from tenants.models.membership import CouncilRole, Membership
from tenants.models.onboarding import ApplicationStatus, CouncilApplication, Invitation
from tenants.models.user import PlatformRole, User

__all__ = [
    "ApplicationStatus",
    "Council",
    "CouncilApplication",
    "CouncilRole",
    "CouncilStatus",
    "Domain",
    "Invitation",
    "Membership",
    "PlatformRole",
    "ProvisioningState",
    "TenancyGeneration",
    "User",
]
