"""Pages and files for signed-in people are never kept by a browser's or a proxy's cache: a
receipt, a payer's details or an export file would otherwise outlive the sign-out on a shared
council PC (the back button, or the disk cache), and a shared proxy could hand them to others."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers


class PrivatePagesMiddleware:
    """`Cache-Control: no-store` (with Django's never-cache set) on every response to a signed-in
    person, every download, and every response that read the session (a citizen's basket)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        session = getattr(request, "session", None)
        if (
            (user is not None and user.is_authenticated)
            or response.has_header("Content-Disposition")
            or (session is not None and session.accessed)
        ):
            add_never_cache_headers(response)
        return response
