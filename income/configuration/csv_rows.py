"""Configuration as CSV: export every object of a kind, and import a file of them.

Export neutralises cells a spreadsheet would run as a formula. Related objects travel by
their own key (a fund's VAT code by its code, its group by its name, its channels as codes
separated by semicolons), so a file reads the same in any council. Import is all or nothing:
each row goes through the same form as the page, and one bad row means nothing is saved,
with every problem listed by row number.
"""

import csv
import io
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import models

from income.configuration.registry import ConfigEntity, entity_for_model
from income.csv_cells import FORMULA_STARTS, neutralise

MANY_SEPARATOR = ";"
YES = {"yes", "y", "true", "1"}
NO = {"no", "n", "false", "0", ""}


def natural_key(obj: models.Model) -> str:
    """How people name a configured object: by its kind's key (a code, a name)."""
    related = entity_for_model(type(obj))
    return str(getattr(obj, related.key) if related else obj.pk)


def _export_value(entity: ConfigEntity, obj: Any, field: str) -> object:
    if field == "rate":
        whole, part = divmod(obj.rate_basis_points, 100)
        return f"{whole}.{part:02d}"
    model_field = entity.model._meta.get_field(field)
    value = getattr(obj, field)
    if model_field.many_to_many:
        return MANY_SEPARATOR.join(sorted(natural_key(item) for item in value.all()))
    if model_field.is_relation:
        return "" if value is None else natural_key(value)
    if field.endswith("_pence") and value is not None:
        return f"{Decimal(value) / 100:.2f}"  # exact: Decimal, never float
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


def export_csv(entity: ConfigEntity, objects: Iterable[Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(entity.csv_fields)
    for obj in objects:
        writer.writerow(neutralise(_export_value(entity, obj, f)) for f in entity.csv_fields)
    return out.getvalue()


def _related_pk(model: type[models.Model], value: str) -> int | None:
    related = entity_for_model(model)
    key = related.key if related else "pk"
    found = model.objects.filter(**{f"{key}__iexact" if related else key: value}).first()
    return found.pk if found else None


def _related_noun(model: type[models.Model]) -> str:
    related = entity_for_model(model)
    return related.noun if related else str(model._meta.verbose_name)


def form_data_from_row(
    entity: ConfigEntity, row: dict[str, str | None]
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """A CSV row as the page's form would have received it, and (field, message) for each
    cell that cannot be read. Columns the file does not have are left out, so an update
    keeps what the object has and a new object gets the model's defaults."""
    data: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for field in entity.csv_fields:
        if field not in row:
            continue
        value = (row[field] or "").strip()
        if value.startswith("'") and value[1:].startswith(FORMULA_STARTS):
            value = value[1:]  # our own neutralising, undone
        model_field = entity.model._meta.get_field(field) if field != "rate" else None
        if isinstance(model_field, models.BooleanField):
            if value.lower() in YES:
                data[field] = "on"
            elif value.lower() not in NO:
                problems.append((field, f'Write yes or no, not "{value}".'))
            continue
        if model_field is not None and model_field.many_to_many:
            keys = [key.strip() for key in value.split(MANY_SEPARATOR) if key.strip()]
            pks = [_related_pk(model_field.related_model, key) for key in keys]
            for key, pk in zip(keys, pks, strict=True):
                if pk is None:
                    noun = _related_noun(model_field.related_model)
                    problems.append((field, f'There is no {noun} "{key}".'))
            data[field] = [pk for pk in pks if pk is not None]
            continue
        if model_field is not None and model_field.is_relation and value:
            pk = _related_pk(model_field.related_model, value)
            if pk is None:
                noun = _related_noun(model_field.related_model)
                problems.append((field, f'There is no {noun} "{value}".'))
            data[field] = pk if pk is not None else ""
            continue
        data[field] = value
    return data, problems
