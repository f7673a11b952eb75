"""Joining: a council applies on the platform's host; an invited person accepts on the
council's host, sets a password, and goes on to set up two-factor authentication."""

from allauth.account.internal.flows.reauthentication import reauthenticate_by_password
from allauth.core import ratelimit
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, password_validation
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from tenants.actions.applications import submit_application
from tenants.actions.invitations import accept_invitation, open_invitation
from tenants.govuk_forms import GovukForm
from tenants.models import CouncilApplication, User


class ApplicationForm(GovukForm):
    council_name = forms.CharField(
        label="Council name",
        max_length=200,
        error_messages={"required": "Enter the name of the council"},
    )
    gss_code = forms.CharField(
        label="ONS code",
        help_text="The 9-character ONS (GSS) code of the council, like E08000016",
        max_length=20,
        error_messages={"required": "Enter the ONS code of the council"},
        widget=forms.TextInput(attrs={"spellcheck": "false", "class": "govuk-input--width-10"}),
    )
    requested_slug = forms.CharField(
        label="Subdomain",
        help_text=(
            "The address of your council on Counterfoil: 3 to 30 lower-case letters, digits "
            "and hyphens, like northbrook"
        ),
        max_length=60,
        error_messages={"required": "Enter the subdomain you would like"},
        widget=forms.TextInput(attrs={"spellcheck": "false", "class": "govuk-input--width-20"}),
    )
    contact_name = forms.CharField(
        label="Your full name", max_length=200, error_messages={"required": "Enter your full name"}
    )
    contact_email = forms.EmailField(
        label="Your work email address",
        help_text="We will send the invitation to set up your council here",
        max_length=254,
        error_messages={
            "required": "Enter your work email address",
            "invalid": "Enter an email address in the correct format, like name@council.gov.uk",
        },
        widget=forms.EmailInput(attrs={"spellcheck": "false", "autocomplete": "email"}),
    )

    def clean_gss_code(self) -> str:
        code = self.cleaned_data["gss_code"].strip()
        # Upper-case only plain ASCII: str.upper() would turn look-alikes into ASCII letters.
        return code.upper() if code.isascii() else code

    def clean_requested_slug(self) -> str:
        slug = self.cleaned_data["requested_slug"].strip()
        # The same for lower-case: "\u212a".lower() is a plain "k".
        return slug.lower() if slug.isascii() else slug


def apply(request: HttpRequest) -> HttpResponse:
    form = ApplicationForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            application = submit_application(
                **form.cleaned_data,
                acting_user=request.user if request.user.is_authenticated else None,
            )
        except ValidationError as error:
            for field, field_errors in error.error_dict.items():
                for field_error in field_errors:
                    form.add_error(field if field in form.fields else None, field_error)
            if any(e.code == "rate_limited" for e in form.non_field_errors().as_data()):
                status = 429
        else:
            request.session["submitted_application"] = application.pk
            return redirect("apply-submitted")
    return render(request, "tenants/onboarding/apply.html", {"form": form}, status=status)


def apply_submitted(request: HttpRequest) -> HttpResponse:
    application = CouncilApplication.objects.filter(
        pk=request.session.get("submitted_application")
    ).first()
    if application is None:
        return redirect("apply")
    return render(
        request,
        "tenants/onboarding/submitted.html",
        {"application": application, "platform_domain": settings.PLATFORM_DOMAIN},
    )


class NewAccountForm(GovukForm):
    full_name = forms.CharField(label="Full name", max_length=200)
    password = forms.CharField(
        label="Create a password",
        help_text="At least 12 characters. A few random words together work well.",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password_again = forms.CharField(
        label="Type the password again",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: object, email: str, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self) -> dict:
        cleaned = super().clean()
        password = cleaned.get("password")
        if password and cleaned.get("password_again") != password:
            self.add_error("password_again", "The passwords do not match")
        elif password:
            try:
                password_validation.validate_password(
                    password, User(email=self.email, full_name=cleaned.get("full_name", ""))
                )
            except ValidationError as error:
                self.add_error("password", error)
        return cleaned


class ExistingAccountForm(GovukForm):
    password = forms.CharField(
        label="Your Counterfoil password",
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


def accept(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed link. Someone new sets a password, is signed in, and is sent to set up
    two-factor authentication; someone who already has an account confirms it is them with
    their password, then signs in as usual (with their second factor)."""
    try:
        invitation = open_invitation(request.council, token)
    except PermissionDenied as refused:
        return render(
            request,
            "tenants/onboarding/invitation_refused.html",
            {"reason": str(refused)},
            status=403,
        )
    existing = User.objects.filter(email__iexact=invitation.email).first()
    form_class = ExistingAccountForm if existing else NewAccountForm
    kwargs = {} if existing else {"email": invitation.email}
    form = form_class(request.POST if request.method == "POST" else None, **kwargs)
    if request.method == "POST" and form.is_valid():
        password = form.cleaned_data["password"]
        if existing is not None:
            # The same limit on wrong passwords as the sign-in page, for the same account.
            key = existing.email.lower()
            if not ratelimit.consume(request, action="login_failed", key=key, dry_run=True):
                form.add_error("password", "Too many wrong passwords. Try again later.")
                return _accept_page(request, invitation, form, existing)
            # Without the request: on this host they are not a member yet, which would fail
            # the sign-in rule (tenants.authentication); the invitation is what admits them.
            if authenticate(None, email=existing.email, password=password) is None:
                ratelimit.consume(request, action="login_failed", key=key)
                form.add_error("password", "The password is not correct")
                return _accept_page(request, invitation, form, existing)
        try:
            membership = accept_invitation(
                council=request.council,
                token=token,
                password=form.cleaned_data["password"],
                full_name=form.cleaned_data.get("full_name", ""),
            )
        except PermissionDenied as refused:
            return render(
                request,
                "tenants/onboarding/invitation_refused.html",
                {"reason": str(refused)},
                status=403,
            )
        if existing is not None:
            messages.success(
                request, f"You have joined {request.council.name}. Sign in to continue."
            )
            return redirect(reverse("account_login"))
        login(request, membership.user, backend="tenants.authentication.CouncilModelBackend")
        # They typed their password a moment ago: setting up the authenticator need not ask again.
        reauthenticate_by_password(request)
        messages.success(request, f"Welcome to {request.council.name}")
        return redirect("/")
    return _accept_page(request, invitation, form, existing)


def _accept_page(request, invitation, form, existing) -> HttpResponse:
    return render(
        request,
        "tenants/onboarding/accept.html",
        {"invitation": invitation, "form": form, "existing": existing},
    )
