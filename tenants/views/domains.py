"""The council's host names, under /team/domains/: every member sees them; admins add one,
check its DNS proof, make one primary, or remove one."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from tenants.actions.domains import add_domain, make_primary, remove_domain, verify_domain_by_dns
from tenants.capabilities import Capability
from tenants.domain_names import txt_record_name, txt_record_value
from tenants.govuk_forms import GovukForm
from tenants.models import Domain
from tenants.view_permissions import council_capability_required, member_may


class DomainForm(GovukForm):
    hostname = forms.CharField(
        label="Host name",
        help_text="For example, payments.northbrook.gov.uk",
        max_length=253,
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
    )


def _domains_page(
    request: HttpRequest,
    form: DomainForm | None = None,
    error: str | None = None,
    status: int = 200,
) -> HttpResponse:
    domains = [
        (domain, txt_record_name(domain.domain), txt_record_value(domain.verification_token))
        for domain in Domain.objects.filter(tenant=request.council).order_by(
            "-is_primary", "domain"
        )
    ]
    return render(
        request,
        "tenants/domains/list.html",
        {
            "domains": domains,
            "form": form or DomainForm(),
            "may_manage": member_may(request, Capability.MANAGE_DOMAINS),
            "error": error,
        },
        status=status,
    )


@login_required
def domain_list(request: HttpRequest) -> HttpResponse:
    return _domains_page(request)


@require_POST
@council_capability_required(Capability.MANAGE_DOMAINS)
def add(request: HttpRequest) -> HttpResponse:
    form = DomainForm(request.POST)
    if form.is_valid():
        try:
            domain = add_domain(
                council=request.council,
                hostname=form.cleaned_data["hostname"],
                acting_user=request.user,
            )
        except ValidationError as refused:
            form.add_error("hostname", refused)
        else:
            messages.success(
                request, f"{domain.domain} added: publish its TXT record, then check it"
            )
            return redirect("team:domains")
    return _domains_page(request, form=form, status=400)


def _council_domain(request: HttpRequest, pk: int) -> Domain:
    return get_object_or_404(Domain.objects.select_related("tenant"), pk=pk, tenant=request.council)


def _domain_action(action, success: str):
    @require_POST
    @council_capability_required(Capability.MANAGE_DOMAINS)
    def view(request: HttpRequest, pk: int) -> HttpResponse:
        domain = _council_domain(request, pk)
        try:
            action(domain=domain, acting_user=request.user)
        except ValidationError as refused:
            return _domains_page(request, error=refused.messages[0], status=400)
        messages.success(request, success.format(domain=domain.domain))
        return redirect("team:domains")

    return view


verify = _domain_action(verify_domain_by_dns, "{domain} is verified")
primary = _domain_action(make_primary, "{domain} is now the primary host name")
remove = _domain_action(remove_domain, "{domain} has been removed")
