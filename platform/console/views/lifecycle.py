"""Suspending, reactivating and closing a council from its console page. Each asks for a
reason, and for the operator's password again if they have not given it in the last minutes."""

from allauth.account.decorators import reauthentication_required
from celery import current_app
from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from console.views.councils import council_page_context
from tenants.actions.domains import confirm_domain_by_operator
from tenants.actions.lifecycle import (
    archive_again,
    begin_closing,
    drop_council_schema,
    reactivate_council,
    suspend_council,
)
from tenants.capabilities import Capability
from tenants.govuk_forms import GovukForm
from tenants.models import Council, Domain
from tenants.view_permissions import platform_capability_required


class ReasonForm(GovukForm):
    reason = forms.CharField(
        label="Reason",
        help_text="Kept in the audit log and shown to the council’s staff",  # noqa: RUF001
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
    )


class TypedNameForm(GovukForm):
    typed_name = forms.CharField(label="Type the council’s name to confirm", max_length=200)  # noqa: RUF001


CHANGES = {
    "suspend": (suspend_council, "{name} is suspended: its staff can look and export only"),
    "reactivate": (reactivate_council, "{name} is active again"),
    "close": (begin_closing, "{name} is closing: its data is being archived"),
}


def _council_change(change: str):
    action, success = CHANGES[change]

    @require_POST
    @platform_capability_required(Capability.MANAGE_COUNCILS)
    @reauthentication_required
    def view(request: HttpRequest, pk: int) -> HttpResponse:
        council = get_object_or_404(Council, pk=pk)
        form = ReasonForm(request.POST, prefix=change)
        if form.is_valid():
            try:
                action(
                    council=council, reason=form.cleaned_data["reason"], acting_user=request.user
                )
            except ValidationError as refused:
                return _page(request, council, error=refused.messages[0], status=409)
            if change == "close":
                _send_billing_close(council.pk, request.user.pk)
            messages.success(request, success.format(name=council.name))
            return redirect("console:council", pk=pk)
        return _page(request, council, form=form, **{f"{change}_form": form}, status=400)

    view.__name__ = change
    return view


def _send_billing_close(council_pk: int, operator_pk: int) -> None:
    # Billing sits beside the console, not below it: its task is sent by name, after commit.
    # It sends the council's usage to the day and has Stripe make the final invoice.
    transaction.on_commit(
        lambda: current_app.send_task("billing.close_account", [council_pk, operator_pk])
    )


suspend = _council_change("suspend")
reactivate = _council_change("reactivate")
close = _council_change("close")


@require_POST
@platform_capability_required(Capability.MANAGE_COUNCILS)
@reauthentication_required
def drop(request: HttpRequest, pk: int) -> HttpResponse:
    council = get_object_or_404(Council, pk=pk)
    form = TypedNameForm(request.POST)
    if form.is_valid():
        try:
            drop_council_schema(
                council=council,
                typed_name=form.cleaned_data["typed_name"],
                acting_user=request.user,
            )
        except ValidationError as refused:
            form.add_error("typed_name", refused.messages[0])
        else:
            messages.success(request, f"{council.name} is closed; its archive is kept")
            return redirect("console:council", pk=pk)
    return _page(request, council, form=form, drop_form=form, status=400)


def _page(
    request: HttpRequest, council: Council, status: int = 200, **extra: object
) -> HttpResponse:
    return render(
        request,
        "console/council_detail.html",
        council_page_context(request, council, **extra),
        status=status,
    )


@require_POST
@platform_capability_required(Capability.MANAGE_COUNCILS)
def confirm_domain(request: HttpRequest, pk: int, domain_pk: int) -> HttpResponse:
    council = get_object_or_404(Council, pk=pk)
    domain = get_object_or_404(
        Domain.objects.select_related("tenant"), pk=domain_pk, tenant=council
    )
    form = ReasonForm(request.POST, prefix=f"domain-{domain.pk}")
    if form.is_valid():
        try:
            confirm_domain_by_operator(
                domain=domain, reason=form.cleaned_data["reason"], acting_user=request.user
            )
        except ValidationError as refused:
            return _page(request, council, error=refused.messages[0], status=400)
        messages.success(request, f"{domain.domain} is confirmed for {council.name}")
        return redirect("console:council", pk=pk)
    return _page(request, council, form=form, status=400)


@require_POST
@platform_capability_required(Capability.MANAGE_COUNCILS)
def retry_archive(request: HttpRequest, pk: int) -> HttpResponse:
    council = get_object_or_404(Council, pk=pk)
    try:
        archive_again(council=council, acting_user=request.user)
    except ValidationError as refused:
        return _page(request, council, error=refused.messages[0], status=409)
    messages.success(request, f"The archive of {council.name} is being made again")
    return redirect("console:council", pk=pk)
