"""Loading the signed-in person on a council's host together with their membership there.

Django loads the user once per request; the membership check (tenants.middleware) needs the
membership, whether the email address is verified and whether they work for other councils.
Asking for all of it in the user's own query saves a query, and the `SET search_path` that
goes before every query, on every signed-in page.
"""

from typing import Any

from allauth.account.auth_backends import AuthenticationBackend
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db import connection
from django.db.models import Exists, F, FilteredRelation, OuterRef, Q

from tenants.models import Council, Membership

MEMBERSHIP_FIELDS = ("id", "user_id", "council_id", "role", "created")


def _with_membership(council: Council) -> dict[str, Any]:
    return {
        **{
            f"council_membership_{name}": F(f"council_membership__{name}")
            for name in MEMBERSHIP_FIELDS
        },
        "council_email_verified": Exists(
            EmailAddress.objects.filter(user_id=OuterRef("pk"), verified=True)
        ),
        "council_works_elsewhere": Exists(
            Membership.objects.filter(user_id=OuterRef("pk")).exclude(council_id=council.pk)
        ),
    }


def loaded_membership(user: Any, council: Council) -> Membership | None:
    """The membership loaded with `user`, or None if they have none at `council`.

    Raises AttributeError for a user that was not loaded by these backends on this council's
    host (the caller then asks the database)."""
    if user.council_membership_council_id is None:
        return None
    if user.council_membership_council_id != council.pk:
        raise AttributeError("user loaded for another council")
    membership = Membership.from_db(
        "default",
        list(MEMBERSHIP_FIELDS),
        [getattr(user, f"council_membership_{name}") for name in MEMBERSHIP_FIELDS],
    )
    membership.user = user
    membership.council = council
    membership.email_verified = user.council_email_verified
    membership.works_elsewhere = user.council_works_elsewhere
    return membership


class _MembershipLoading:
    def get_user(self, user_id: Any) -> Any:
        council = getattr(connection, "tenant", None)
        users = get_user_model()._default_manager.all()
        if isinstance(council, Council):
            users = users.annotate(
                council_membership=FilteredRelation(
                    "memberships", condition=Q(memberships__council_id=council.pk)
                )
            ).annotate(**_with_membership(council))
        user = users.filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None


class CouncilModelBackend(_MembershipLoading, ModelBackend):
    pass


class CouncilAuthenticationBackend(_MembershipLoading, AuthenticationBackend):
    pass
