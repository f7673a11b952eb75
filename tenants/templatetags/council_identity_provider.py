from django import template

from tenants.council_identity_providers import identity_provider_of
from tenants.models import CouncilIdentityProvider

register = template.Library()


@register.simple_tag(takes_context=True)
def council_identity_provider(context: template.Context) -> CouncilIdentityProvider | None:
    """The identity provider the council of this host offers for signing in, if any."""
    request = context.get("request")
    return identity_provider_of(getattr(request, "council", None))
