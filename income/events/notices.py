"""Telling a council's admins that one of their event endpoints was paused."""

from django.core.mail import send_mail
from django.db import connection

from income.models import EventEndpoint
from tenants.actions.councils import council_host
from tenants.models import Council, CouncilRole, Membership


def admin_emails(council: Council) -> list[str]:
    return sorted(
        Membership.objects.filter(
            council=council, role=CouncilRole.ADMIN, user__is_active=True
        ).values_list("user__email", flat=True)
    )


def tell_admins_endpoint_paused(endpoint: EventEndpoint) -> None:
    council = Council.objects.get(schema_name=connection.schema_name)
    recipients = admin_emails(council)
    if not recipients:
        return
    last = (
        endpoint.deliveries.exclude(last_outcome="")
        .order_by("-last_attempt_at")
        .values_list("last_outcome", flat=True)
        .first()
    )
    send_mail(
        subject=f"Counterfoil: event notifications to {endpoint.url} are paused",
        message=(
            f"Every attempt to send {council.name}'s event notifications to\n\n"
            f"    {endpoint.url}\n\nhas failed for a day, so Counterfoil has paused them. "
            "Nothing is lost: the events wait, and are sent when you resume the endpoint.\n\n"
            f"The last attempt: {last or 'unknown'}\n\n"
            f"See the delivery log and resume it at https://{council_host(council.slug)}"
            f"/events/endpoints/{endpoint.pk}/\n"
        ),
        from_email=None,
        recipient_list=recipients,
    )
