from tenants.models.council import Council, CouncilStatus, Domain, TenancyGeneration
from tenants.models.membership import CouncilRole, Membership
from tenants.models.user import User

__all__ = [
    "Council",
    "CouncilRole",
    "CouncilStatus",
    "Domain",
    "Membership",
    "TenancyGeneration",
    "User",
]
