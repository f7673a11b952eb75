from django.http import HttpRequest


def service(request: HttpRequest) -> dict[str, object]:
    """The name the GOV.UK header shows: the council's on its host, the platform's elsewhere."""
    council = getattr(request, "council", None)
    return {
        "service_name": council.name if council else "Counterfoil",
        "council": council,
        "membership": getattr(request, "membership", None),
    }
