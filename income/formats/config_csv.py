"""Configuration as CSV: export every object of a kind, and import a file of them.

Export neutralises cells a spreadsheet would run as a formula. Import is all or nothing: each
row goes through the same form as the page, and one bad row means nothing is saved, with
every problem listed by row number.
"""

import csv
import io
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from income.config_registry import ConfigEntity

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _export_value(entity: ConfigEntity, obj: Any, field: str) -> object:
    if field == "rate":
        whole, part = divmod(obj.rate_basis_points, 100)
        return f"{whole}.{part:02d}"
    value = getattr(obj, field)
    if field.endswith("_pence") and value is not None:
        return str(Decimal(value) / 100)  # exact: Decimal, never float
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


def form_data_from_row(entity: ConfigEntity, row: dict[str, str]) -> dict[str, Any]:
    """A CSV row as the form would have received it from the page."""
    data: dict[str, Any] = {}
    for field in entity.csv_fields:
        value = (row.get(field) or "").strip()
        if value.startswith("'") and value[1:].startswith(FORMULA_STARTS):
            value = value[1:]  # our own neutralising, undone
        if value.lower() in {"yes", "no"} and field.startswith(
            ("is_", "refunds_", "taken_", "subtract_")
        ):
            if value.lower() == "yes":
                data[field] = "on"
            continue
        data[field] = value
    return data
