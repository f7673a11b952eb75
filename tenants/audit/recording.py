"""Writing audit records. Actions call `record_audit` in the same transaction as their change."""

from typing import Any

from django.db import models

from tenants.audit.models import AuditEvent
from tenants.request_context import current_origin


def record_audit(
    action: str,
    *,
    acting_user: Any,
    target: models.Model | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
) -> AuditEvent:
    """Append one audit record in the schema the connection is on now: the council's for a
    council action, the public schema for a platform action."""
    origin = current_origin()
    return AuditEvent.objects.create(
        actor_id=getattr(acting_user, "pk", None),
        actor_email=getattr(acting_user, "email", "") or "",
        action=action,
        target_type=target._meta.label if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=str(target)[:300] if target is not None else "",
        before=before,
        after=after,
        reason=reason,
        ip_address=origin.ip_address,
        user_agent=origin.user_agent,
        request_id=origin.request_id,
    )


def record_audit_in(schema_name: str, action: str, **details: Any) -> AuditEvent:
    """`record_audit` in the named schema (a council's own log, written from a platform action,
    or the public one from a council's), whichever schema the connection is on now."""
    from django_tenants.utils import schema_context

    with schema_context(schema_name):
        return record_audit(action, **details)
