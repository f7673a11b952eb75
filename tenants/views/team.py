"""The council's team: who works here and in which role, invitations, and council switching.

Every member may look; changing anything needs MANAGE_MEMBERS (and, to change a role or remove
someone, the password or a second factor given in the last few minutes), checked here to decide
what to show and again by the actions. Objects are looked up within the current council only, so
another council's ids are simply not found.
"""

from allauth.account.decorators import reauthentication_required
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from tenants.actions.invitations import invite_to_council
from tenants.actions.memberships import (
    change_role,
    check_may_manage,
    remove_member,
    revoke_invitation,
)
from tenants.capabilities import Capability
from tenants.council_switching import councils_of
from tenants.govuk_forms import GovukForm
from tenants.models import CouncilRole, Invitation, Membership
from tenants.view_permissions import council_capability_required, member_may

ROLE_HINTS = {
    CouncilRole.ADMIN: "Everything, including inviting people and changing roles.",
    CouncilRole.FINANCE_MANAGER: "Finance work, and approving refunds and cash-ups.",
    CouncilRole.INCOME_OFFICER: "Takes payments, works suspense, raises refunds, imports files.",
    CouncilRole.AUDITOR: "Can look at everything and export, but change nothing.",
}


class InviteForm(GovukForm):
    email = forms.EmailField(
        label="Email address",
        max_length=254,
        widget=forms.EmailInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
    )
    role = forms.ChoiceField(label="Role", choices=CouncilRole.choices, widget=forms.RadioSelect)


class RoleForm(GovukForm):
    role = forms.ChoiceField(label="Role", choices=CouncilRole.choices, widget=forms.RadioSelect)


def _council_membership(request: HttpRequest, pk: int) -> Membership:
    return get_object_or_404(
        Membership.objects.select_related("user", "council"), pk=pk, council=request.council
    )


def _open_invitation(request: HttpRequest, pk: int) -> Invitation:
    return get_object_or_404(
        Invitation.objects.select_related("council"),
        pk=pk,
        council=request.council,
        accepted_at=None,
        revoked_at=None,
    )


@login_required
def team(request: HttpRequest) -> HttpResponse:
    may_manage = member_may(request, Capability.MANAGE_MEMBERS)
    members = (
        Membership.objects.filter(council=request.council)
        .select_related("user")
        .order_by("user__full_name", "user__email")
    )
    invitations = Invitation.objects.filter(
        council=request.council, accepted_at=None, revoked_at=None, expires_at__gt=timezone.now()
    ).order_by("email")
    return render(
        request,
        "tenants/team/list.html",
        {"members": members, "invitations": invitations, "may_manage": may_manage},
    )


@council_capability_required(Capability.MANAGE_MEMBERS)
def invite(request: HttpRequest) -> HttpResponse:
    form = InviteForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            issued = invite_to_council(
                council=request.council,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                acting_user=request.user,
            )
        except ValidationError as error:
            form.add_error("email", error)
        else:
            messages.success(request, f"Invitation sent to {issued.invitation.email}")
            return redirect("team:list")
    return render(request, "tenants/team/invite.html", {"form": form, "role_hints": ROLE_HINTS})


@council_capability_required(Capability.MANAGE_MEMBERS)
@reauthentication_required(allow_get=True)
def change_member_role(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _council_membership(request, pk)
    check_may_manage(membership=membership, acting_user=request.user)
    form = RoleForm(
        request.POST if request.method == "POST" else None, initial={"role": membership.role}
    )
    if request.method == "POST" and form.is_valid():
        try:
            change_role(
                membership=membership, role=form.cleaned_data["role"], acting_user=request.user
            )
        except ValidationError as error:
            form.add_error("role", error)
        else:
            messages.success(request, f"The role of {membership.user.email} has been changed")
            return redirect("team:list")
    return render(
        request,
        "tenants/team/change_role.html",
        {"member": membership, "form": form, "role_hints": ROLE_HINTS},
    )


@council_capability_required(Capability.MANAGE_MEMBERS)
@reauthentication_required(allow_get=True)
def remove(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _council_membership(request, pk)
    check_may_manage(membership=membership, acting_user=request.user)
    error = None
    if request.method == "POST":
        try:
            remove_member(membership=membership, acting_user=request.user)
        except ValidationError as refused:
            error = refused.messages[0]
        else:
            messages.success(request, f"{membership.user.email} has been removed from the team")
            return redirect("team:list")
    return render(request, "tenants/team/remove.html", {"member": membership, "error": error})


@council_capability_required(Capability.MANAGE_MEMBERS)
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    invitation = _open_invitation(request, pk)
    error = None
    if request.method == "POST":
        try:
            revoke_invitation(invitation=invitation, acting_user=request.user)
        except ValidationError as refused:
            error = refused.messages[0]
        else:
            messages.success(request, f"The invitation to {invitation.email} has been revoked")
            return redirect("team:list")
    return render(request, "tenants/team/revoke.html", {"invitation": invitation, "error": error})


@login_required
def your_councils(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "tenants/team/councils.html",
        {"links": councils_of(request.user, port=request.get_port())},
    )
