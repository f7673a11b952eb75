"""The onboarding queue: operators approve or decline councils' applications; support staff
may look."""

from celery import current_app
from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, IntegerField, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from tenants.actions.applications import approve_application, decline_application
from tenants.capabilities import Capability, platform_capabilities
from tenants.govuk_forms import GovukForm
from tenants.models import ApplicationStatus, CouncilApplication
from tenants.view_permissions import platform_capability_required


class DeclineForm(GovukForm):
    reason = forms.CharField(
        label="Reason for declining",
        help_text="We will tell the contact named in the application",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
    )


@platform_capability_required(Capability.VIEW_PLATFORM)
def application_list(request: HttpRequest) -> HttpResponse:
    applications = (
        CouncilApplication.objects.select_related("council", "decided_by")
        .annotate(
            waiting=Case(
                When(status=ApplicationStatus.PENDING, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("waiting", "-submitted_at")
    )
    return render(request, "console/application_list.html", {"applications": applications})


@platform_capability_required(Capability.VIEW_PLATFORM)
def application_detail(request: HttpRequest, pk: int) -> HttpResponse:
    application = get_object_or_404(
        CouncilApplication.objects.select_related("council", "decided_by"), pk=pk
    )
    return _detail(request, application, DeclineForm())


def _detail(
    request: HttpRequest,
    application: CouncilApplication,
    decline_form: DeclineForm,
    error: str | None = None,
) -> HttpResponse:
    may_review = Capability.REVIEW_APPLICATIONS in platform_capabilities(request.user)
    return render(
        request,
        "console/application_detail.html",
        {
            "application": application,
            "decline_form": decline_form,
            "may_review": may_review,
            "error": error,
        },
    )


@require_POST
@platform_capability_required(Capability.REVIEW_APPLICATIONS)
def approve(request: HttpRequest, pk: int) -> HttpResponse:
    application = get_object_or_404(CouncilApplication, pk=pk)
    try:
        council = approve_application(application=application, acting_user=request.user)
    except ValidationError as refused:
        return _detail(request, application, DeclineForm(), error=refused.messages[0])
    # Billing sits beside the console, not below it: its task is sent by name, after commit.
    transaction.on_commit(lambda: current_app.send_task("billing.create_customer", [council.pk]))
    messages.success(
        request, f"{council.name} is set up and {application.contact_email} has been invited"
    )
    return redirect("console:application", pk=pk)


@require_POST
@platform_capability_required(Capability.REVIEW_APPLICATIONS)
def decline(request: HttpRequest, pk: int) -> HttpResponse:
    application = get_object_or_404(CouncilApplication, pk=pk)
    form = DeclineForm(request.POST)
    if form.is_valid():
        try:
            decline_application(
                application=application,
                reason=form.cleaned_data["reason"],
                acting_user=request.user,
            )
        except ValidationError as refused:
            return _detail(request, application, form, error=refused.messages[0])
        messages.success(request, f"The application from {application.council_name} is declined")
        return redirect("console:application", pk=pk)
    return _detail(request, application, form)
