"""Changing who works for a council: roles, removals, and revoking invitations not yet used.

Every action checks MANAGE_MEMBERS itself (a view's check only decides what to show), and
writes its audit record in the council's schema in the same transaction as the change.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from tenants.audit.recording import record_audit, record_audit_in
from tenants.capabilities import Capability, require_council_capability
from tenants.models import Council, CouncilRole, Invitation, Membership, User

OWN_ROLE_REFUSAL = "Nobody can change their own role or remove themselves: ask another admin."


def check_may_manage(*, membership: Membership, acting_user: User) -> None:
    """Refuse (PermissionDenied) unless `acting_user` may change `membership`: they manage
    members at its council and it is not their own. Pages use this to decide what to offer."""
    require_council_capability(acting_user, membership.council, Capability.MANAGE_MEMBERS)
    if membership.user_id == acting_user.pk:
        raise PermissionDenied(OWN_ROLE_REFUSAL)


def _lock_for_change(*, membership: Membership, acting_user: User) -> tuple[Membership, int]:
    """Inside a transaction: lock the council's admin memberships and the target, then check
    again against what is committed now. Returns the fresh target and how many admins there are.

    Two admins demoting (or removing) each other at once both pass a check made before the
    lock; with it, the second waits, then sees that the first has already changed things.
    Rows are locked in primary-key order so that concurrent callers cannot deadlock.
    """
    council = membership.council
    admins = list(
        Membership.objects.select_for_update()
        .filter(council=council, role=CouncilRole.ADMIN)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    current = (
        Membership.objects.select_for_update()
        .select_related("user", "council")
        .filter(pk=membership.pk, council=council)
        .first()
    )
    if current is None:
        raise ValidationError("This person is no longer a member of the council.")
    check_may_manage(membership=current, acting_user=acting_user)
    return current, len(admins)


def _keeps_an_admin(council: Council, membership: Membership, admin_count: int) -> None:
    if membership.role == CouncilRole.ADMIN and admin_count <= 1:
        raise ValidationError(
            f"{council.name} must always have at least one admin: make someone else an admin first."
        )


def change_role(*, membership: Membership, role: str, acting_user: User) -> Membership:
    """Give a member another role at their council."""
    if role not in CouncilRole.values:
        raise ValidationError(f"“{role}” is not a council role.")
    check_may_manage(membership=membership, acting_user=acting_user)
    council = membership.council
    with transaction.atomic():
        current, admin_count = _lock_for_change(membership=membership, acting_user=acting_user)
        before = current.role
        if before == role:
            return current
        if role != CouncilRole.ADMIN:
            _keeps_an_admin(council, current, admin_count)
        current.role = role
        current.save(update_fields=["role"])
        record_audit_in(
            council.schema_name,
            "member.role_changed",
            acting_user=acting_user,
            target=current,
            before={"email": current.user.email, "role": before},
            after={"email": current.user.email, "role": role},
        )
    return current


def remove_member(*, membership: Membership, acting_user: User) -> None:
    """Take a person off the council. Their account stays (it may belong to other councils);
    their next request to this council's host gets nothing."""
    check_may_manage(membership=membership, acting_user=acting_user)
    council = membership.council
    with transaction.atomic():
        current, admin_count = _lock_for_change(membership=membership, acting_user=acting_user)
        _keeps_an_admin(council, current, admin_count)
        with schema_context(council.schema_name):
            # Recorded before the delete, while the membership still has its id.
            record_audit(
                "member.removed",
                acting_user=acting_user,
                target=current,
                before={"email": current.user.email, "role": current.role},
            )
        current.delete()


def revoke_invitation(*, invitation: Invitation, acting_user: User) -> Invitation:
    """Make an invitation's link unusable before it is accepted."""
    council = invitation.council
    require_council_capability(acting_user, council, Capability.MANAGE_MEMBERS)
    with transaction.atomic():
        current = (
            Invitation.objects.select_for_update().filter(pk=invitation.pk, council=council).get()
        )
        if current.accepted_at is not None:
            raise ValidationError("This invitation has already been accepted.")
        if current.revoked_at is not None:
            raise ValidationError("This invitation has already been revoked.")
        current.revoked_at = timezone.now()
        current.save(update_fields=["revoked_at"])
        record_audit_in(
            council.schema_name,
            "member.invitation_revoked",
            acting_user=acting_user,
            target=current,
            before={"email": current.email, "role": current.role},
            after={"revoked": True},
        )
    return current
