from tenants.models.council import (
    Council,
    CouncilStatus,
    Domain,
    ProvisioningState,
    TenancyGeneration,
)
from tenants.models.export import CouncilExport, ExportStatus
from tenants.models.membership import CouncilRole, Membership
from tenants.models.onboarding import ApplicationStatus, CouncilApplication, Invitation
from tenants.models.snapshot import SchemaSnapshot
from tenants.models.user import PlatformRole, User

__all__ = [
    "ApplicationStatus",
    "Council",
    "CouncilApplication",
    "CouncilExport",
    "CouncilRole",
    "CouncilStatus",
    "Domain",
    "ExportStatus",
    "Invitation",
    "Membership",
    "PlatformRole",
    "ProvisioningState",
    "SchemaSnapshot",
    "TenancyGeneration",
    "User",
]
