from django.http import HttpRequest

from tenants.capabilities import council_capabilities


def service(request: HttpRequest) -> dict[str, object]:
    """The name the GOV.UK header shows (the council's on its host, the platform's elsewhere),
    and what the signed-in member may do there, for menus."""
    council = getattr(request, "council", None)
    membership = getattr(request, "membership", None)
    return {
        "service_name": council.name if council else "Counterfoil",
        "council": council,
        "membership": membership,
        "capabilities": {str(c) for c in council_capabilities(membership)},
    }
