"""View-level capability checks. Actions check again: a view only decides who sees a page."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from tenants.capabilities import (
    COUNCIL_ROLE_CAPABILITIES,
    Capability,
    CouncilReadOnly,
    council_capabilities,
    platform_capabilities,
)


def council_capability_required(capability: Capability) -> Callable:
    """Only a signed-in member of this council whose role allows `capability` sees the view;
    others are sent to sign in (anonymous) or refused with 403 (members without it)."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            membership = getattr(request, "membership", None)
            if capability not in council_capabilities(membership):
                # Say why: a suspended council refuses changes whatever the role.
                if membership is not None and capability in COUNCIL_ROLE_CAPABILITIES.get(
                    membership.role, frozenset()
                ):
                    raise CouncilReadOnly(
                        f"{membership.council.name} is suspended: you can look and export, "
                        "but nothing can change."
                    )
                raise PermissionDenied("Your role does not allow this.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def platform_capability_required(capability: Capability) -> Callable:
    """Only a signed-in operator (or support, for looking) whose platform role allows
    `capability` sees the view; others are sent to sign in or refused with 403."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if capability not in platform_capabilities(request.user):
                raise PermissionDenied("Only platform operators can see this.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def member_may(request: HttpRequest, capability: Capability) -> bool:
    """Whether the signed-in member of this council has `capability` (for what a page offers:
    the action checks again when it is asked)."""
    return capability in council_capabilities(getattr(request, "membership", None))
