"""Changing the council's configuration: every change checked and written to the audit log."""

import csv
import io
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from django.forms import ModelForm
from django.forms.models import model_to_dict

from income.config_registry import ConfigEntity
from income.formats.config_csv import form_data_from_row
from tenants.audit.recording import record_audit
from tenants.capabilities import Capability, require_council_capability
from tenants.models import Council, User


def snapshot(obj: models.Model) -> dict[str, Any]:
    data = model_to_dict(obj)
    for key, value in list(data.items()):
        if isinstance(value, list):
            data[key] = sorted(getattr(item, "pk", item) for item in value)
        elif value is not None and not isinstance(value, str | int | bool | float):
            data[key] = str(value)
    return data


@transaction.atomic
def save_config(
    *, council: Council, entity: ConfigEntity, form: ModelForm, acting_user: User
) -> models.Model:
    """Save a valid form (new or changed object) and record what changed."""
    require_council_capability(acting_user, council, Capability.CONFIGURE_INCOME)
    is_new = form.instance.pk is None
    before = None if is_new else snapshot(type(form.instance).objects.get(pk=form.instance.pk))
    obj = form.save()
    if is_new and entity.opened:
        entity.opened(obj)
    action = f"{entity.model._meta.model_name}.{'created' if is_new else 'changed'}"
    record_audit(action, acting_user=acting_user, target=obj, before=before, after=snapshot(obj))
    return obj


@transaction.atomic
def set_enabled(
    *, council: Council, entity: ConfigEntity, obj: models.Model, enabled: bool, acting_user: User
) -> None:
    """Disable or re-enable: nothing that may hold money or history is ever deleted."""
    require_council_capability(acting_user, council, Capability.CONFIGURE_INCOME)
    before = snapshot(obj)
    if entity.enabled_field:
        setattr(obj, entity.enabled_field, enabled)
    elif entity.disabled_field:
        setattr(obj, entity.disabled_field, not enabled)
    else:
        raise ValueError(f"{entity.title} cannot be disabled")
    obj.save()
    action = f"{entity.model._meta.model_name}.{'enabled' if enabled else 'disabled'}"
    record_audit(action, acting_user=acting_user, target=obj, before=before, after=snapshot(obj))


def _as_form_data(initial: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in initial.items():
        if isinstance(value, bool):
            if value:
                data[key] = "on"
        elif isinstance(value, list):
            data[key] = [getattr(item, "pk", item) for item in value]
        elif hasattr(value, "strftime"):
            data[key] = value.strftime("%d/%m/%Y")
        elif value is not None:
            data[key] = value
    return data


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    errors: list[str]


def import_config_csv(
    *, council: Council, entity: ConfigEntity, text: str, acting_user: User
) -> ImportResult:
    """Create or update objects from CSV rows, matched on the entity's key; all or nothing."""
    require_council_capability(acting_user, council, Capability.CONFIGURE_INCOME)
    reader = csv.DictReader(io.StringIO(text))
    missing = set(entity.csv_fields) - set(reader.fieldnames or [])
    if entity.key in missing:
        return ImportResult(
            0, 0, [f"The first line must name the columns, including {entity.key}."]
        )
    forms: list[ModelForm] = []
    errors: list[str] = []
    for line_number, row in enumerate(reader, start=2):
        data = form_data_from_row(entity, row)
        existing = entity.model.objects.filter(**{entity.key: data.get(entity.key, "")}).first()
        if existing is not None:
            # Fields the file does not carry keep their current values (as the form shows them).
            current = entity.form(instance=existing).initial
            form = entity.form(data={**_as_form_data(current), **data}, instance=existing)
        else:
            form = entity.form(data=data)
        if form.is_valid():
            if form.instance.pk is None or form.has_changed():
                forms.append(form)
        else:
            for field, messages in form.errors.items():
                where = "" if field == "__all__" else f" ({field})"
                errors.extend(f"Row {line_number}{where}: {message}" for message in messages)
    if errors:
        return ImportResult(0, 0, errors)
    created = updated = 0
    with transaction.atomic():
        for form in forms:
            if form.instance.pk is None:
                created += 1
            else:
                updated += 1
            save_config(council=council, entity=entity, form=form, acting_user=acting_user)
    return ImportResult(created, updated, [])
