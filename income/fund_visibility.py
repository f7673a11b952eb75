"""Which funds a member of staff sees."""

from django.db.models import Exists, Q, QuerySet

from income.models import Fund, FundGroup, FundGroupAccess
from tenants.models import CouncilRole, Membership

# These roles look across the whole council.
SEES_EVERY_FUND = frozenset({CouncilRole.ADMIN, CouncilRole.AUDITOR})


def visible_funds(membership: Membership) -> QuerySet[Fund]:
    funds = Fund.objects.select_related("group", "vat_code")
    if membership.role in SEES_EVERY_FUND:
        return funds
    # Until a council defines fund groups, everyone sees every fund. Asked inside the funds'
    # own query (PostgreSQL evaluates the constant subquery once), not as a query of its own.
    groups = FundGroupAccess.objects.filter(user_id=membership.user_id).values("group_id")
    return funds.filter(Q(group_id__in=groups) | ~Exists(FundGroup.objects.all()))
