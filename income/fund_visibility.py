"""Which funds a member of staff sees."""

from django.db.models import QuerySet

from income.models import Fund, FundGroup, FundGroupAccess
from tenants.models import CouncilRole, Membership

# These roles look across the whole council.
SEES_EVERY_FUND = frozenset({CouncilRole.ADMIN, CouncilRole.AUDITOR})


def visible_funds(membership: Membership) -> QuerySet[Fund]:
    funds = Fund.objects.select_related("group", "vat_code")
    if membership.role in SEES_EVERY_FUND or not FundGroup.objects.exists():
        return funds
    groups = FundGroupAccess.objects.filter(user_id=membership.user_id).values("group_id")
    return funds.filter(group_id__in=groups)
