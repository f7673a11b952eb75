"""Event notifications, for a council admin: the endpoints, adding one (its signing secret
shown once), each endpoint's delivery log with its attempts, pause/resume and resend."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from income.events.endpoints import add_endpoint, resend_delivery, set_endpoint_paused
from income.events.signing import SIGNATURE_HEADER
from income.forms.events import EndpointForm
from income.models import EventDelivery, EventEndpoint
from tenants.capabilities import Capability
from tenants.view_permissions import council_capability_required

LOG_PAGE = 50


@council_capability_required(Capability.MANAGE_INTEGRATIONS)
def endpoint_list(request: HttpRequest) -> HttpResponse:
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            made = add_endpoint(
                council=request.council,
                acting_user=request.user,
                url=form.cleaned_data["url"],
                event_types=form.cleaned_data["event_types"],
                description=form.cleaned_data["description"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return render(
                request,
                "income/events/added.html",
                {"endpoint": made.endpoint, "secret": made.secret, "header": SIGNATURE_HEADER},
            )
    return render(
        request,
        "income/events/endpoints.html",
        {"form": form, "endpoints": EventEndpoint.objects.all()},
    )


@council_capability_required(Capability.MANAGE_INTEGRATIONS)
def endpoint_detail(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(EventEndpoint, pk=pk)
    deliveries = (
        EventDelivery.objects.filter(endpoint=endpoint)
        .select_related("event")
        .prefetch_related("tries")
        .order_by("-pk")
    )
    page = Paginator(deliveries, LOG_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "income/events/endpoint.html",
        {"endpoint": endpoint, "page": page, "header": SIGNATURE_HEADER},
    )


@council_capability_required(Capability.MANAGE_INTEGRATIONS)
@require_POST
def pause(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(EventEndpoint, pk=pk)
    paused = request.POST.get("paused") == "1"
    set_endpoint_paused(
        council=request.council, endpoint=endpoint, paused=paused, acting_user=request.user
    )
    messages.success(
        request,
        "Endpoint paused: its events wait until you resume it."
        if paused
        else "Endpoint resumed: the events that waited are being sent.",
    )
    return redirect("income:event-endpoint", pk=pk)


@council_capability_required(Capability.MANAGE_INTEGRATIONS)
@require_POST
def resend(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = get_object_or_404(EventDelivery, pk=pk)
    try:
        resend_delivery(council=request.council, delivery=delivery, acting_user=request.user)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, f"Event {delivery.event.event_id} is being sent again.")
    return redirect("income:event-endpoint", pk=delivery.endpoint_id)
