"""What every page may show of billing: an overdue invoice, to the council's admins and finance
managers on its own host, and to operators in the console. Both are computed only when a
template asks (a page that never shows them runs no query)."""

from functools import partial

from django.http import HttpRequest

from billing.actions.overdue import council_overdue, overdue_by_council
from tenants.capabilities import Capability, platform_capabilities
from tenants.models import CouncilRole

# Who at a council is told: those who can see that it is paid.
TOLD_ROLES = frozenset({CouncilRole.ADMIN, CouncilRole.FINANCE_MANAGER})


def overdue_notices(request: HttpRequest) -> dict[str, object]:
    council = getattr(request, "council", None)
    membership = getattr(request, "membership", None)
    if council is not None:
        if membership is not None and membership.role in TOLD_ROLES:
            return {"billing_overdue": partial(council_overdue, council)}
        return {}
    if Capability.VIEW_PLATFORM in platform_capabilities(getattr(request, "user", None)):
        return {"billing_overdue_councils": overdue_by_council}
    return {}
