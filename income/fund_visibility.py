"""Which funds a member of staff sees, and so which receipts and postings.

Admins and auditors see every fund; until a council groups its funds, everyone does. Once it
has, a member of staff sees the funds of the groups they work, and a receipt only when every
fund its money has ever been posted to is one of those (a receipt split with a fund they do
not work is not theirs to see or act on: it would show that fund's money). A receipt whose
money has never reached a fund (wholly in suspense) is on the shared suspense worklist and
seen by all. Every list, page, download and action asks here, inside its own query.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet

from income.models import (
    ExportTarget,
    Fund,
    FundGroup,
    FundGroupAccess,
    Posting,
    Receipt,
    Refund,
)
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


def is_restricted(membership: Membership) -> bool:
    return membership.role not in SEES_EVERY_FUND and FundGroup.objects.exists()


def visible_receipts(
    membership: Membership, receipts: QuerySet[Receipt] | None = None
) -> QuerySet[Receipt]:
    """`receipts` (every receipt by default) less those with money posted to a fund the
    member of staff does not work."""
    receipts = Receipt.objects.all() if receipts is None else receipts
    if not is_restricted(membership):
        return receipts
    hidden = Posting.objects.filter(receipt_id=OuterRef("pk"), account__fund__isnull=False).exclude(
        account__fund__in=visible_funds(membership).values("pk")
    )
    return receipts.filter(~Exists(hidden))


def visible_refunds(
    membership: Membership, refunds: QuerySet[Refund] | None = None
) -> QuerySet[Refund]:
    refunds = Refund.objects.all() if refunds is None else refunds
    if not is_restricted(membership):
        return refunds
    return refunds.filter(receipt__in=visible_receipts(membership).values("pk"))


def require_receipt_visible(membership: Membership, receipt: Receipt) -> None:
    """For actions: refuse a receipt the member of staff may not see."""
    if (
        is_restricted(membership)
        and not visible_receipts(membership).filter(pk=receipt.pk).exists()
    ):
        raise PermissionDenied(NOT_YOUR_RECEIPT.format(number=receipt.number))


def require_funds_visible(membership: Membership, *funds: Fund | None) -> None:
    """For actions: refuse a fund the member of staff does not work (None is suspense)."""
    chosen = {fund.pk for fund in funds if fund is not None}
    if not chosen or not is_restricted(membership):
        return
    seen = set(visible_funds(membership).filter(pk__in=chosen).values_list("pk", flat=True))
    for fund in funds:
        if fund is not None and fund.pk not in seen:
            raise PermissionDenied(NOT_YOUR_FUND.format(code=fund.code, name=fund.name))


NOT_YOUR_RECEIPT = "Receipt {number} holds money of funds you do not work."
NOT_YOUR_FUND = "You do not work {code} {name}: ask someone who works its fund group."


def visible_export_targets(
    membership: Membership, targets: QuerySet[ExportTarget] | None = None
) -> QuerySet[ExportTarget]:
    """Targets whose files hold only funds the member of staff works (a target without funds
    takes every fund, so it is for those who see every fund)."""
    targets = ExportTarget.objects.all() if targets is None else targets
    if not is_restricted(membership):
        return targets
    chosen = ExportTarget.funds.through.objects.filter(exporttarget_id=OuterRef("pk"))
    hidden = chosen.exclude(fund_id__in=visible_funds(membership).values("pk"))
    return targets.filter(Exists(chosen), ~Exists(hidden))


def require_export_target_visible(membership: Membership, target: ExportTarget) -> None:
    if not visible_export_targets(membership).filter(pk=target.pk).exists():
        raise PermissionDenied(f"{target.name} exports funds you do not work.")
