"""The council's identity provider, under /team/sign-in/: its admins set up signing in with
Microsoft Entra ID (or another OpenID Connect provider), change it or remove it. And the
provider's way back to us after a sign-in, which checks every ID token in full."""

from allauth.account.decorators import reauthentication_required
from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView
from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from tenants.actions.identity_providers import (
    remove_identity_provider,
    save_identity_provider,
)
from tenants.capabilities import Capability
from tenants.govuk_forms import GovukForm
from tenants.id_tokens import VerifiedIdTokenAdapter
from tenants.models import CouncilIdentityProvider, IdentityProviderKind
from tenants.view_permissions import council_capability_required


class IdentityProviderForm(GovukForm):
    kind = forms.ChoiceField(
        label="Identity provider",
        choices=IdentityProviderKind.choices,
        widget=forms.RadioSelect,
        initial=IdentityProviderKind.ENTRA,
    )
    display_name = forms.CharField(
        label="Name on the sign-in button",
        help_text="People see “Sign in with” and this name, for example Microsoft",
        max_length=60,
        initial="Microsoft",
    )
    entra_tenant_id = forms.CharField(
        label="Directory (tenant) ID",
        help_text="Microsoft Entra ID only: on the app registration's overview page",
        max_length=36,
        required=False,
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
    )
    issuer_url = forms.CharField(
        label="Issuer URL",
        help_text="Other providers only: the address before /.well-known/openid-configuration",
        max_length=300,
        required=False,
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
    )
    client_id = forms.CharField(
        label="Client (application) ID",
        max_length=191,
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
    )
    client_secret = forms.CharField(
        label="Client secret",
        max_length=500,
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}, render_value=False),
    )
    email_domain = forms.CharField(
        label="Email domain that must sign in this way (optional)",
        help_text="For example northbrook.gov.uk: people with such an address cannot use a "
        "password on this council's host",
        max_length=253,
        required=False,
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
    )
    trust_provider_mfa = forms.BooleanField(
        label="Trust the provider's multi-factor authentication",
        help_text="Skip Counterfoil's own code when the provider says it asked for a second "
        "factor (the amr claim holds mfa). Otherwise people also enter Counterfoil's code.",
        required=False,
    )
    enabled = forms.BooleanField(
        label="Offer signing in with this provider", required=False, initial=True
    )

    def __init__(self, *args: object, saved: CouncilIdentityProvider | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        secret = self.fields["client_secret"]
        if saved is None:
            secret.help_text = "Shown to nobody once saved"
        else:
            ending = f" (it ends {saved.secret_ends_with})" if saved.secret_ends_with else ""
            secret.help_text = f"Leave empty to keep the secret saved{ending}"
        self._decorate_widgets()


def _initial(saved: CouncilIdentityProvider) -> dict[str, object]:
    return {
        "kind": saved.kind,
        "display_name": saved.display_name,
        "entra_tenant_id": saved.entra_tenant_id,
        "issuer_url": "" if saved.kind == IdentityProviderKind.ENTRA else saved.issuer_url,
        "client_id": saved.social_app.client_id,
        "email_domain": saved.email_domain,
        "trust_provider_mfa": saved.trust_provider_mfa,
        "enabled": saved.enabled,
    }


def _saved(request: HttpRequest) -> CouncilIdentityProvider | None:
    return (
        CouncilIdentityProvider.objects.select_related("social_app")
        .filter(council=request.council)
        .first()
    )


def _callback_url(request: HttpRequest) -> str:
    path = reverse("openid_connect_callback", kwargs={"provider_id": request.council.slug})
    return request.build_absolute_uri(path)


@council_capability_required(Capability.MANAGE_MEMBERS)
@reauthentication_required(allow_get=True)
def identity_provider_settings(request: HttpRequest) -> HttpResponse:
    saved = _saved(request)
    if request.method == "POST":
        form = IdentityProviderForm(request.POST, saved=saved)
        if form.is_valid():
            try:
                save_identity_provider(
                    council=request.council, acting_user=request.user, **form.cleaned_data
                )
            except ValidationError as refused:
                form.add_error(None, refused)  # each message beside the field it is about
            else:
                messages.success(request, "Signing in with your identity provider is saved")
                return redirect("team:identity-provider")
        status = 400
    else:
        form = IdentityProviderForm(initial=_initial(saved) if saved else None, saved=saved)
        status = 200
    return render(
        request,
        "tenants/identity_provider/settings.html",
        {"form": form, "saved": saved, "callback_url": _callback_url(request)},
        status=status,
    )


@council_capability_required(Capability.MANAGE_MEMBERS)
@reauthentication_required(allow_get=True)
def remove(request: HttpRequest) -> HttpResponse:
    saved = _saved(request)
    if saved is None:
        return redirect("team:identity-provider")
    if request.method == "POST":
        try:
            remove_identity_provider(council=request.council, acting_user=request.user)
        except ValidationError as refused:  # removed by another admin a moment ago
            messages.error(request, refused.messages[0])
        else:
            messages.success(request, "Members now sign in with their email address and password")
        return redirect("team:identity-provider")
    return render(request, "tenants/identity_provider/remove.html", {"saved": saved})


def callback(request: HttpRequest, provider_id: str) -> HttpResponse:
    """allauth's OpenID Connect callback, with every ID token checked in full (tenants.id_tokens).
    A provider id the council's host does not offer is not found."""
    try:
        view = OAuth2CallbackView.adapter_view(VerifiedIdTokenAdapter(request, provider_id))
        return view(request)
    except SocialApp.DoesNotExist:
        raise Http404 from None
