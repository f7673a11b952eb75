"""The council's GOV.UK Pay connection: keys (encrypted, shown by their last characters), the
webhook URL to give GOV.UK Pay, a connection test and a "check for missed payments" button."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from income.actions.govuk_pay.connections import check_connection, save_connection
from income.actions.govuk_pay.mop_up import run_mop_up
from income.forms.govuk_pay import ConnectionForm
from income.models import (
    GovukPayConnection,
    GovukPayPayment,
    GovukPayRefund,
    GovukPayWebhookMessage,
)
from tenants.capabilities import Capability
from tenants.view_permissions import council_capability_required


def webhook_url(request: HttpRequest) -> str:
    """Where GOV.UK Pay should send webhooks: the council's own verified .gov.uk name if it has
    one (GOV.UK Pay requires a .gov.uk callback for live services), else the host in use."""
    path = reverse("income:govuk-pay-webhook")
    own = (
        request.council.domains.filter(domain__endswith=".gov.uk", verified_at__isnull=False)
        .order_by("-is_primary", "domain")
        .first()
    )
    if own is not None:
        return f"https://{own.domain}{path}"
    return request.build_absolute_uri(path)


@council_capability_required(Capability.MANAGE_INTEGRATIONS)
def connection_settings(request: HttpRequest) -> HttpResponse:
    form = ConnectionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            save_connection(
                council=request.council,
                acting_user=request.user,
                fund=data["fund"],
                api_key=data["api_key"],
                webhook_secret=data["webhook_secret"],
                base_url=data["base_url"] or "",
                welsh_enabled=data["welsh_enabled"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "GOV.UK Pay settings saved")
            return redirect("income:govuk-pay-settings")
    return render(
        request,
        "income/govuk_pay/settings.html",
        {
            "form": form,
            "connections": GovukPayConnection.objects.select_related("fund").order_by("fund__code"),
            "webhook_url": webhook_url(request),
            "recent_payments": GovukPayPayment.objects.select_related("receipt")[:20],
            "card_refunds": GovukPayRefund.objects.select_related("refund__receipt")[:20],
            "recent_messages": GovukPayWebhookMessage.objects.only(
                "event_type", "resource_id", "received_at", "outcome"
            )[:20],
            "mop_up_minutes": settings.CELERY_BEAT_SCHEDULE["govuk-pay-mop-up"]["schedule"] // 60,
        },
    )


@council_capability_required(Capability.MANAGE_INTEGRATIONS)
@require_POST
def check_connection_now(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_object_or_404(GovukPayConnection, pk=pk)
    ok, result = check_connection(
        council=request.council, connection=connection, acting_user=request.user
    )
    (messages.success if ok else messages.error)(request, result)
    return redirect("income:govuk-pay-settings")


@council_capability_required(Capability.MANAGE_INTEGRATIONS)
@require_POST
def mop_up_now(request: HttpRequest) -> HttpResponse:
    summary = run_mop_up(council=request.council, acting_user=request.user)
    text = f"Checked {summary.seen} GOV.UK Pay payments; {summary.applied} brought up to date."
    if summary.problems:
        messages.error(request, f"{text} Problems: {'; '.join(summary.problems)}")
    else:
        messages.success(request, text)
    return redirect("income:govuk-pay-settings")
