"""Who sees a council's Billing page: its admins, even while the council is suspended (for not
paying, say): seeing what is owed is looking, and a suspended council's staff may look. Every
change there is still refused while suspended (tenants.read_only refuses the post)."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from tenants.capabilities import COUNCIL_ROLE_CAPABILITIES, Capability


def billing_role_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        membership = getattr(request, "membership", None)
        role_may = COUNCIL_ROLE_CAPABILITIES.get(getattr(membership, "role", ""), frozenset())
        if Capability.MANAGE_BILLING not in role_may:
            raise PermissionDenied("Your role does not allow this.")
        return view(request, *args, **kwargs)

    return wrapped
