"""API clients, for a council admin: the list with a form to add one (its token shown once),
each client's page with its use and secrets, rotating its secret (the old one working for an
overlap the admin picks) and revoking it."""

import datetime

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from income.actions.api_clients import (
    create_api_client,
    revoke_api_client,
    rotate_api_client_secret,
)
from income.models import ApiClient, ApiScope
from tenants.capabilities import Capability
from tenants.govuk_forms import GovukForm
from tenants.view_permissions import council_capability_required

OVERLAPS = {"0": 0, "1": 1, "24": 24, "168": 168}  # hours


class ApiClientForm(GovukForm):
    name = forms.CharField(
        label="Name", max_length=100,
        help_text="The system that will use it, for example “Revenues and benefits”. Its "
        "name is written into the audit record of everything it does.",
    )  # fmt: skip
    scopes = forms.MultipleChoiceField(
        label="What it may do",
        choices=[(value, f"{value}: {label}") for value, label in ApiScope.choices],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one of the scopes listed."},
    )
    expires_on = forms.DateField(
        label="Expires on",
        help_text="For example 31/12/2027. At most two years from today.",
        input_formats=["%d/%m/%Y", "%Y-%m-%d"],
        widget=forms.DateInput(format="%d/%m/%Y"),
    )
    rate_limit_per_minute = forms.IntegerField(
        label="Requests a minute", min_value=1, max_value=100_000, initial=600,
        help_text="More than this in a minute is refused until the minute is up.",
    )  # fmt: skip

    def expires_at(self) -> datetime.datetime:
        """The end of the chosen day, in the council's time."""
        day = self.cleaned_data["expires_on"]
        return timezone.make_aware(datetime.datetime.combine(day, datetime.time(23, 59, 59)))


class RotateForm(GovukForm):
    overlap = forms.ChoiceField(
        label="How long may the old secret keep working?",
        choices=[("0", "Not at all: stop it now"), ("1", "1 hour"), ("24", "24 hours"),
                 ("168", "7 days")],
        initial="24", widget=forms.RadioSelect,
        help_text="Long enough to give the new secret to every system that uses the old one.",
    )  # fmt: skip


@council_capability_required(Capability.MANAGE_INTEGRATIONS)
def client_list(request: HttpRequest) -> HttpResponse:
    form = ApiClientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            issued = create_api_client(
                council=request.council,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                expires_at=form.expires_at(),
                rate_limit_per_minute=form.cleaned_data["rate_limit_per_minute"],
                acting_user=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return render(
                request,
                "income/api_clients/token.html",
                {"client": issued.client, "token": issued.token, "rotated": False},
            )
    return render(
        request,
        "income/api_clients/list.html",
        {"form": form, "clients": ApiClient.objects.all(), "now": timezone.now()},
    )


@council_capability_required(Capability.MANAGE_INTEGRATIONS)
def client_detail(request: HttpRequest, pk: int) -> HttpResponse:
    client = get_object_or_404(ApiClient.objects.select_related("service_user"), pk=pk)
    return render(
        request,
        "income/api_clients/detail.html",
        {
            "client": client,
            "secrets": client.secrets.all(),
            "rotate_form": RotateForm(),
            "now": timezone.now(),
        },
    )


@council_capability_required(Capability.MANAGE_INTEGRATIONS)
@require_POST
def rotate(request: HttpRequest, pk: int) -> HttpResponse:
    client = get_object_or_404(ApiClient, pk=pk)
    form = RotateForm(request.POST)
    if form.is_valid():
        try:
            issued = rotate_api_client_secret(
                council=request.council,
                client=client,
                overlap=datetime.timedelta(hours=OVERLAPS[form.cleaned_data["overlap"]]),
                acting_user=request.user,
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            return render(
                request,
                "income/api_clients/token.html",
                {"client": client, "token": issued.token, "rotated": True},
            )
    return redirect("income:api-client", pk=pk)


@council_capability_required(Capability.MANAGE_INTEGRATIONS)
@require_POST
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    client = get_object_or_404(ApiClient, pk=pk)
    try:
        revoke_api_client(council=request.council, client=client, acting_user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{client.name} is revoked: its secrets no longer work.")
    return redirect("income:api-client", pk=pk)
