"""Changing the council's configuration: every change checked and written to the audit log."""

import csv
import io
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from django.forms import ModelForm
from django.forms.models import model_to_dict

from income.configuration.csv_rows import form_data_from_row, natural_key
from income.configuration.registry import ConfigEntity
from tenants.audit.recording import record_audit
from tenants.capabilities import Capability, require_council_capability
from tenants.models import Council, User


def snapshot(obj: models.Model, entity: ConfigEntity | None = None) -> dict[str, Any]:
    """The object as the audit log keeps it. Related settings are named by their own keys
    (VAT code W0, channels CARD and CASH), as in the CSV, so the history reads without ids."""
    data = model_to_dict(obj)
    for field in obj._meta.get_fields():
        if field.name not in data or not field.is_relation:
            continue
        if field.many_to_many:
            data[field.name] = sorted(natural_key(item) for item in getattr(obj, field.name).all())
        else:
            related = getattr(obj, field.name)
            data[field.name] = None if related is None else natural_key(related)
    if entity is not None and entity.described is not None:
        data.update(entity.described(obj))
    for key, value in list(data.items()):
        if value is not None and not isinstance(value, str | int | bool | float | list):
            data[key] = str(value)
    return data


@transaction.atomic
def save_config(
    *, council: Council, entity: ConfigEntity, form: ModelForm, acting_user: User
) -> models.Model:
    """Save a valid form (new or changed object) and record what changed."""
    require_council_capability(acting_user, council, Capability.CONFIGURE_INCOME)
    is_new = form.instance.pk is None
    before = (
        None if is_new else snapshot(type(form.instance).objects.get(pk=form.instance.pk), entity)
    )
    obj = form.save()
    if is_new and entity.opened:
        entity.opened(obj)
    action = f"{entity.model._meta.model_name}.{'created' if is_new else 'changed'}"
    after = snapshot(obj, entity)
    record_audit(action, acting_user=acting_user, target=obj, before=before, after=after)
    return obj


@transaction.atomic
def set_enabled(
    *, council: Council, entity: ConfigEntity, obj: models.Model, enabled: bool, acting_user: User
) -> None:
    """Disable or re-enable: nothing that may hold money or history is ever deleted."""
    require_council_capability(acting_user, council, Capability.CONFIGURE_INCOME)
    before = snapshot(obj, entity)
    if entity.enabled_field:
        setattr(obj, entity.enabled_field, enabled)
    elif entity.disabled_field:
        setattr(obj, entity.disabled_field, not enabled)
    else:
        raise ValueError(f"{entity.title} cannot be disabled")
    obj.save()
    action = f"{entity.model._meta.model_name}.{'enabled' if enabled else 'disabled'}"
    after = snapshot(obj, entity)
    record_audit(action, acting_user=acting_user, target=obj, before=before, after=after)


def _as_form_data(form: ModelForm) -> dict[str, Any]:
    """What the page would post for an unbound form: its initial values as the fields show them."""
    data: dict[str, Any] = {}
    for name, field in form.fields.items():
        value = field.prepare_value(form.get_initial_for_field(field, name))
        if isinstance(value, bool):
            if value:
                data[name] = "on"
        elif isinstance(value, list | tuple):
            data[name] = [getattr(item, "pk", item) for item in value]
        elif hasattr(value, "strftime"):
            data[name] = value.strftime("%d/%m/%Y")
        elif value is not None:
            data[name] = value
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
    columns = [name.strip() for name in reader.fieldnames or []]
    reader.fieldnames = columns
    if entity.key not in columns:
        return ImportResult(
            0, 0, [f"The first line must name the columns, including {entity.key}."]
        )
    unknown = [name for name in columns if name not in entity.csv_fields]
    if unknown:
        return ImportResult(
            0,
            0,
            [
                f"The first line names columns this import does not know: {', '.join(unknown)}. "
                f"It knows: {', '.join(entity.csv_fields)}."
            ],
        )
    forms: list[ModelForm] = []
    errors: list[str] = []
    first_seen: dict[str, int] = {}
    line_number = 1
    for line_number, row in enumerate(reader, start=2):
        data, problems = form_data_from_row(entity, row)
        key = str(data.get(entity.key, "")).strip()
        if key and key.upper() in first_seen:
            errors.append(
                f"Row {line_number} ({entity.key}): {key} is also on row {first_seen[key.upper()]}."
            )
            continue
        if key:
            first_seen[key.upper()] = line_number
        existing = (
            entity.model.objects.filter(**{f"{entity.key}__iexact": key}).first() if key else None
        )
        # Start from what the page would show (the object as it is, or a new one's defaults),
        # so columns the file leaves out keep their values.
        current = _as_form_data(entity.form(instance=existing))
        form = entity.form(data={**current, **data}, instance=existing)
        valid = form.is_valid()
        errors.extend(f"Row {line_number} ({field}): {message}" for field, message in problems)
        if not valid:
            for field, messages in form.errors.items():
                if any(field == named for named, _ in problems):
                    continue  # already said why, in the file's own terms
                where = "" if field == "__all__" else f" ({field})"
                errors.extend(f"Row {line_number}{where}: {message}" for message in messages)
        elif not problems and (existing is None or form.has_changed()):
            forms.append(form)
    if line_number == 1:
        return ImportResult(0, 0, ["The file has a first line of column names but no rows."])
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
