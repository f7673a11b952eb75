from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


class AbsoluteSessionLimitMiddleware:
    """Placeholder wired into MIDDLEWARE; its owner replaces it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)
