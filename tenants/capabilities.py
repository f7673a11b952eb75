"""What each role may do: one table, checked by actions (views only decide what to show).

A suspended council is read-only: every capability that changes something is refused there,
whatever the role, while looking and exporting stay allowed.
"""

from enum import StrEnum

from django.core.exceptions import PermissionDenied

from tenants.models import Council, CouncilRole, Membership, PlatformRole, User
from tenants.models.council import CouncilStatus


class Capability(StrEnum):
    # council: looking
    VIEW_INCOME = "view_income"
    VIEW_AUDIT = "view_audit"
    EXPORT_DATA = "export_data"
    # council: changing
    TAKE_PAYMENTS = "take_payments"
    WORK_SUSPENSE = "work_suspense"
    RAISE_REFUNDS = "raise_refunds"
    APPROVE_REFUNDS = "approve_refunds"
    AUTHORISE_CASH_UPS = "authorise_cash_ups"
    IMPORT_FILES = "import_files"
    MANAGE_IMPORT_RULES = "manage_import_rules"
    # Decide what an import held back: release or discard a possible duplicate line, import a
    # damaged file anyway or cancel it, settle a debit that matched no receipt.
    REVIEW_IMPORT_EXCEPTIONS = "review_import_exceptions"
    RUN_EXPORTS = "run_exports"
    SIGN_OFF_RECONCILIATION = "sign_off_reconciliation"
    CONFIGURE_INCOME = "configure_income"
    MANAGE_MEMBERS = "manage_members"
    MANAGE_DOMAINS = "manage_domains"
    MANAGE_INTEGRATIONS = "manage_integrations"
    # The council's billing contact, purchase-order number and invoices from the platform.
    MANAGE_BILLING = "manage_billing"
    # platform
    VIEW_PLATFORM = "view_platform"
    REVIEW_APPLICATIONS = "review_applications"
    MANAGE_COUNCILS = "manage_councils"


READ_ONLY = frozenset({Capability.VIEW_INCOME, Capability.VIEW_AUDIT, Capability.EXPORT_DATA})

_FINANCE_WORK = frozenset(
    {
        Capability.TAKE_PAYMENTS,
        Capability.WORK_SUSPENSE,
        Capability.RAISE_REFUNDS,
        Capability.IMPORT_FILES,
        Capability.RUN_EXPORTS,
    }
)

COUNCIL_ROLE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    CouncilRole.ADMIN: READ_ONLY
    | _FINANCE_WORK
    | {
        Capability.APPROVE_REFUNDS,
        Capability.AUTHORISE_CASH_UPS,
        Capability.CONFIGURE_INCOME,
        Capability.MANAGE_IMPORT_RULES,
        Capability.REVIEW_IMPORT_EXCEPTIONS,
        Capability.SIGN_OFF_RECONCILIATION,
        Capability.MANAGE_MEMBERS,
        Capability.MANAGE_DOMAINS,
        Capability.MANAGE_INTEGRATIONS,
        Capability.MANAGE_BILLING,
    },
    CouncilRole.FINANCE_MANAGER: READ_ONLY
    | _FINANCE_WORK
    | {
        Capability.APPROVE_REFUNDS,
        Capability.AUTHORISE_CASH_UPS,
        Capability.MANAGE_IMPORT_RULES,
        Capability.REVIEW_IMPORT_EXCEPTIONS,
        Capability.SIGN_OFF_RECONCILIATION,
    },
    CouncilRole.INCOME_OFFICER: READ_ONLY | _FINANCE_WORK,
    CouncilRole.AUDITOR: READ_ONLY,
}

PLATFORM_ROLE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    PlatformRole.OPERATOR: frozenset(
        {Capability.VIEW_PLATFORM, Capability.REVIEW_APPLICATIONS, Capability.MANAGE_COUNCILS}
    ),
    PlatformRole.SUPPORT: frozenset({Capability.VIEW_PLATFORM}),
}


class CouncilReadOnly(PermissionDenied):
    """The council is suspended: nothing may change until it is reactivated."""


def council_capabilities(membership: Membership | None) -> frozenset[Capability]:
    if membership is None:
        return frozenset()
    allowed = COUNCIL_ROLE_CAPABILITIES.get(membership.role, frozenset())
    if membership.council.status != CouncilStatus.ACTIVE:
        return allowed & READ_ONLY
    return allowed


def require_council_capability(user: User, council: Council, capability: Capability) -> Membership:
    """The person's membership at `council` if their role there allows `capability`."""
    membership = (
        Membership.objects.select_related("council").filter(user=user, council=council).first()
        if user is not None and user.is_authenticated
        else None
    )
    if membership is None:
        raise PermissionDenied("You are not a member of this council.")
    if capability not in council_capabilities(membership):
        if capability in COUNCIL_ROLE_CAPABILITIES.get(membership.role, frozenset()):
            raise CouncilReadOnly(
                f"{council.name} is suspended: you can look and export, but nothing can change."
            )
        raise PermissionDenied(f"Your role ({membership.get_role_display()}) does not allow this.")
    return membership


def platform_capabilities(user: User | None) -> frozenset[Capability]:
    if user is None or not user.is_authenticated or not user.platform_role:
        return frozenset()
    return PLATFORM_ROLE_CAPABILITIES.get(user.platform_role, frozenset())


def require_platform_capability(user: User, capability: Capability) -> None:
    if capability not in platform_capabilities(user):
        raise PermissionDenied("Only platform operators can do this.")
