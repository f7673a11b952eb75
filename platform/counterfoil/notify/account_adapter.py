"""allauth's emails say what kind they are (password reset, verification...), from the name of
the template allauth renders them from, so that Notify can use a template for each kind."""

from typing import Any

from django.core.mail import EmailMessage

from counterfoil.notify.messages import KIND_HEADER
from tenants.account_adapter import InvitationOnlyAccountAdapter

_KINDS_BY_TEMPLATE = {
    "account/email/password_reset_key": "password_reset",
    "account/email/password_reset_code": "password_reset",
    "account/email/email_confirmation": "verification",
    "account/email/email_confirmation_signup": "verification",
}


def kind_of_template(template_prefix: str) -> str:
    """`password_reset`, `verification`, or else the template's own name
    (`second_factor_locked`, `password_changed`...)."""
    return _KINDS_BY_TEMPLATE.get(template_prefix, template_prefix.rsplit("/", 1)[-1])


class EmailKindAccountAdapter(InvitationOnlyAccountAdapter):
    def render_mail(
        self,
        template_prefix: str,
        email: str | list[str],
        context: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> EmailMessage:
        headers = {KIND_HEADER: kind_of_template(template_prefix), **(headers or {})}
        return super().render_mail(template_prefix, email, context, headers=headers)
