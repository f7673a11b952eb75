"""Which council a request is for, and whether the person asking may see it."""

from collections.abc import Callable

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import logout
from django.db import connection
from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.template.loader import render_to_string
from django.urls import set_urlconf

from tenants.authentication import loaded_membership
from tenants.council_directory import council_directory
from tenants.models import Council, Membership, User

_verified_email = Exists(EmailAddress.objects.filter(user_id=OuterRef("user_id"), verified=True))
# Whether to offer "Switch council": asked in the same query rather than once more per page.
_works_elsewhere = Exists(
    Membership.objects.filter(user_id=OuterRef("user_id")).exclude(
        council_id=OuterRef("council_id")
    )
)


def _not_found(request: HttpRequest) -> HttpResponse:
    return HttpResponseNotFound(render_to_string("404.html", request=None))


class CouncilHostMiddleware:
    """Resolve the host to the platform or to one council, and point the connection at it.

    The platform's own host is served from the public schema; a council's host from its
    schema; any other host gets 404 and never the public site. It must come first, before
    anything reads the database or the Host header.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        # Read once: this runs on every request, and settings lookups are not free.
        self.platform_hosts = frozenset(settings.PLATFORM_HOSTS)
        self.public_urlconf = settings.PUBLIC_SCHEMA_URLCONF
        self.council_urlconf = settings.ROOT_URLCONF

    def __call__(self, request: HttpRequest) -> HttpResponse:
        connection.set_schema_to_public()
        hostname = request.get_host().rsplit(":", 1)[0].lower().rstrip(".")
        request.council = None
        if hostname in self.platform_hosts:
            request.urlconf = self.public_urlconf
        else:
            council = council_directory.council_for_host(hostname)
            if council is None or not council.is_served:
                return _not_found(request)
            connection.set_tenant(council)
            request.council = request.tenant = council
            request.urlconf = self.council_urlconf
        set_urlconf(request.urlconf)
        return self.get_response(request)


def _membership_from_database(user: User, council: Council) -> Membership | None:
    # One query for all of it, when the user was not loaded with it (tenants.authentication).
    membership = (
        Membership.objects.filter(user=user, council=council)
        .annotate(email_verified=_verified_email, works_elsewhere=_works_elsewhere)
        .first()
    )
    if membership is not None:
        membership.council = council  # already loaded: no second query for it
    return membership


class CouncilMembershipMiddleware:
    """On a council's host, a signed-in person without a membership there, or without a
    verified email address, sees nothing.

    Sessions live in the public schema, so a session cookie taken from one council's host and
    replayed on another's would otherwise authenticate there. Such a person is signed out of
    this request and sent a 404, the same answer as for a page that does not exist.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.session_cookie = settings.SESSION_COOKIE_NAME

    def __call__(self, request: HttpRequest) -> HttpResponse:
        council = getattr(request, "council", None)
        # Without a session cookie nobody is signed in: skip loading the session and the user.
        signed_in = self.session_cookie in request.COOKIES and request.user.is_authenticated
        if council is not None and signed_in:
            membership = self._membership(request.user, council)
            # An unverified address was never proved to be theirs (allauth refuses such a
            # sign-in, but a session may predate the address losing its verification).
            if membership is None or not membership.email_verified:
                logout(request)
                return _not_found(request)
            request.membership = membership
        return self.get_response(request)

    @staticmethod
    def _membership(user: User, council: Council) -> Membership | None:
        try:
            return loaded_membership(user, council)
        except AttributeError:
            return _membership_from_database(user, council)
