"""Inviting people to a council, and accepting an invitation."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from tenants.actions.councils import council_host
from tenants.audit.recording import record_audit_in
from tenants.capabilities import Capability, require_council_capability
from tenants.models import Council, CouncilRole, Invitation, Membership, User

INVITATION_DAYS = 7


@dataclass(frozen=True)
class IssuedInvitation:
    invitation: Invitation
    url: str  # carries the only copy of the token; it goes in the email, nowhere else


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_url(council: Council, token: str) -> str:
    """On the council's host on the platform, never its own host name (its DNS is the
    council's, and the person invited may type a password they use for other councils)."""
    scheme = "https" if settings.HTTPS else "http"
    port = f":{settings.PUBLIC_PORT}" if settings.PUBLIC_PORT else ""
    return f"{scheme}://{council_host(council.slug)}{port}/team/join/{token}/"


def invite_to_council(
    *, council: Council, email: str, role: str, acting_user: User | None
) -> IssuedInvitation:
    """Invite `email` to `council` as `role`, and email them the link.

    `acting_user` must be allowed to manage members there; None is the platform itself (an
    operator's approval inviting a council's first admin, checked by that action).
    """
    if acting_user is not None:
        require_council_capability(acting_user, council, Capability.MANAGE_MEMBERS)
    if role not in CouncilRole.values:
        raise ValidationError(f"“{role}” is not a council role.")
    email = email.strip().lower()
    if Membership.objects.filter(council=council, user__email__iexact=email).exists():
        raise ValidationError(f"{email} is already a member of {council.name}.")

    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        # A new invitation replaces any earlier one still open for the same person.
        Invitation.objects.filter(
            council=council, email__iexact=email, accepted_at=None, revoked_at=None
        ).update(revoked_at=timezone.now())
        invitation = Invitation.objects.create(
            council=council,
            email=email,
            role=role,
            token_hash=token_hash(token),
            invited_by=acting_user,
            expires_at=timezone.now() + timedelta(days=INVITATION_DAYS),
        )
        record_audit_in(
            council.schema_name,
            "member.invited",
            acting_user=acting_user,
            target=invitation,
            after={"email": email, "role": role},
        )
        url = invitation_url(council, token)
        transaction.on_commit(lambda: _send_invitation_email(invitation, url))
    return IssuedInvitation(invitation, url)


def open_invitation(council: Council, token: str) -> Invitation:
    """The invitation a link's token names, if it is for this council and still usable."""
    invitation = Invitation.objects.filter(council=council, token_hash=token_hash(token)).first()
    if invitation is None or invitation.revoked_at is not None:
        raise PermissionDenied("This invitation link is not valid.")
    if invitation.accepted_at is not None:
        raise PermissionDenied("This invitation has already been used. Sign in instead.")
    if invitation.expires_at < timezone.now():
        raise PermissionDenied("This invitation has expired. Ask for a new one.")
    return invitation


def accept_invitation(
    *, council: Council, token: str, password: str, full_name: str = ""
) -> Membership:
    """Accept: the person gets an account (or uses theirs), a verified email and the role."""
    with transaction.atomic():
        invitation = open_invitation(council, token)
        Invitation.objects.select_for_update().get(pk=invitation.pk)
        user = User.objects.filter(email__iexact=invitation.email).first()
        if user is None:
            user = User(email=invitation.email, full_name=full_name)
            user.set_password(password)
            user.full_clean(exclude=["password"])
            user.save()
        # Following the emailed link proves the address.
        EmailAddress.objects.update_or_create(
            user=user, email=invitation.email, defaults={"verified": True, "primary": True}
        )
        membership, _ = Membership.objects.get_or_create(
            user=user, council=council, defaults={"role": invitation.role}
        )
        invitation.accepted_at = timezone.now()
        invitation.save(update_fields=["accepted_at"])
        record_audit_in(
            council.schema_name,
            "member.joined",
            acting_user=user,
            target=membership,
            after={"email": user.email, "role": membership.role},
        )
    return membership


def _send_invitation_email(invitation: Invitation, url: str) -> None:
    context = {"invitation": invitation, "url": url, "days": INVITATION_DAYS}
    message = EmailMultiAlternatives(
        subject=f"You are invited to {invitation.council.name} on Counterfoil",
        body=render_to_string("tenants/email/invitation.txt", context),
        to=[invitation.email],
    )
    message.attach_alternative(
        render_to_string("tenants/email/invitation.html", context), "text/html"
    )
    message.send()
