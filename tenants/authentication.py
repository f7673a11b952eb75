"""Loading the signed-in person on a council's host together with their membership there.

Django loads the user once per request; the membership check (tenants.middleware) needs the
membership, whether the email address is verified and whether they work for other councils,
and the MFA check whether they have enrolled an authenticator (`user.mfa_enrolled`; recovery
codes alone do not count). Signing in on a council's host works only for its members.
Asking for all of it in the user's own query saves a query, and the `SET search_path` that
goes before every query, on every signed-in page.
"""

from typing import Any

from allauth.account.auth_backends import AuthenticationBackend
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db import connection

from tenants.models import Council, Membership
from tenants.postgresql_backend.base import schema_qualified_statements

MEMBERSHIP_FIELDS = ("id", "user_id", "council_id", "role", "created")

# Written out rather than built by the ORM: this runs on every signed-in page, and compiling
# the equivalent queryset (a filtered join and three EXISTS) cost more than running it. Every
# table is named with its schema, so it runs without a `SET search_path` before it.
_USER_WITH_MEMBERSHIP = """
SELECT u.*,
       m.id AS council_membership_id,
       m.user_id AS council_membership_user_id,
       m.council_id AS council_membership_council_id,
       m.role AS council_membership_role,
       m.created AS council_membership_created,
       EXISTS (SELECT 1 FROM public.account_emailaddress e
               WHERE e.user_id = u.id AND e.verified) AS council_email_verified,
       EXISTS (SELECT 1 FROM public.tenants_membership o
               WHERE o.user_id = u.id AND o.council_id <> %(council)s) AS council_works_elsewhere,
       EXISTS (SELECT 1 FROM public.mfa_authenticator a
               WHERE a.user_id = u.id AND a.type <> 'recovery_codes') AS mfa_enrolled
  FROM public.tenants_user u
  LEFT JOIN public.tenants_membership m ON m.user_id = u.id AND m.council_id = %(council)s
 WHERE u.id = %(user)s
"""


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
    def authenticate(self, request: Any, *args: Any, **credentials: Any) -> Any:
        """The right password on a council's host where the person is not a member fails
        exactly as a wrong one does (the same message, counted the same), so that host learns
        nothing of other councils' staff, nor of operators."""
        user = super().authenticate(request, *args, **credentials)  # type: ignore[misc]
        council = getattr(request, "council", None)
        if user is None or council is None:
            return user
        if not Membership.objects.filter(user_id=user.pk, council_id=council.pk).exists():
            return None
        return user

    def get_user(self, user_id: Any) -> Any:
        council = getattr(connection, "tenant", None)
        if not isinstance(council, Council):
            return super().get_user(user_id)  # type: ignore[misc]
        try:
            user_pk = int(user_id)
        except (TypeError, ValueError):
            return None
        users = get_user_model()._default_manager.raw(
            _USER_WITH_MEMBERSHIP, {"council": council.pk, "user": user_pk}
        )
        with schema_qualified_statements():
            user = next(iter(users), None)
        return user if user is not None and self.user_can_authenticate(user) else None  # type: ignore[attr-defined]


class CouncilModelBackend(_MembershipLoading, ModelBackend):
    pass


class CouncilAuthenticationBackend(_MembershipLoading, AuthenticationBackend):
    pass
