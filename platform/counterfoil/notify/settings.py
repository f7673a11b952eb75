"""Reading the Notify settings from the environment (imported by counterfoil.settings, so
nothing here may need Django's settings)."""

import uuid

from django.core.exceptions import ImproperlyConfigured


def notify_template_ids(raw: str) -> dict[str, str]:
    """`kind=template id` pairs, comma separated, as a mapping; each id must be a UUID."""
    template_ids: dict[str, str] = {}
    for pair in (item.strip() for item in raw.split(",")):
        if not pair:
            continue
        kind, equals, template_id = (part.strip() for part in pair.partition("="))
        if not equals or not kind:
            raise ImproperlyConfigured(
                f"NOTIFY_TEMPLATE_IDS takes kind=template id pairs, not {pair!r}"
            )
        try:
            template_ids[kind] = str(uuid.UUID(template_id))
        except ValueError as error:
            raise ImproperlyConfigured(
                f"NOTIFY_TEMPLATE_IDS: the template id for {kind} must be a UUID, "
                f"not {template_id!r}"
            ) from error
    return template_ids
