"""Import rules as SQL: each rule an UPDATE of the staging table, in the rules' order, so the
first rule a line matches is the one applied."""

from dataclasses import dataclass
from typing import Any

from income.models import ImportRule

TEXT_FIELDS = {
    "reference": "reference",
    "narrative": "narrative",
    "payer_name": "payer_name",
    "channel": "channel_code",
}
FIELD_CHOICES = [
    ("reference", "Reference"),
    ("amount", "Amount"),
    ("narrative", "Narrative"),
    ("payer_name", "Payer's name"),
    ("channel", "Channel code"),
]
OPERATOR_CHOICES = [
    ("equals", "equals"),
    ("starts_with", "starts with"),
    ("contains", "contains"),
    ("matches", "matches (regular expression)"),
    ("greater_than", "is greater than"),
    ("less_than", "is less than"),
]
TEXT_OPERATORS = {"equals", "starts_with", "contains", "matches"}
AMOUNT_OPERATORS = {"equals", "greater_than", "less_than"}


@dataclass(frozen=True)
class Condition:
    field: str
    operator: str
    value: str  # amounts in pence, as text

    def problem(self) -> str | None:
        if self.field not in dict(FIELD_CHOICES):
            return f'"{self.field}" is not something a rule can look at'
        allowed = AMOUNT_OPERATORS if self.field == "amount" else TEXT_OPERATORS
        if self.operator not in allowed:
            label = dict(FIELD_CHOICES)[self.field].lower()
            operator = dict(OPERATOR_CHOICES).get(self.operator, self.operator)
            return f'"{operator}" does not apply to the {label}'
        if self.field == "amount" and not self.value.lstrip("-").isdigit():
            return "an amount condition needs an amount in pounds and pence"
        return None


def rule_conditions(rule: ImportRule) -> list[Condition]:
    return [
        Condition(str(c.get("field", "")), str(c.get("operator", "")), str(c.get("value", "")))
        for c in rule.conditions or []
    ]


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def condition_sql(condition: Condition) -> tuple[str, list[Any]]:
    if condition.field == "amount":
        op = {"equals": "=", "greater_than": ">", "less_than": "<"}[condition.operator]
        return f"amount_pence {op} %s", [int(condition.value)]
    column = TEXT_FIELDS[condition.field]
    if condition.operator == "equals":
        return f"upper({column}) = upper(%s)", [condition.value]
    if condition.operator == "starts_with":
        return f"upper({column}) LIKE upper(%s) || '%%'", [_escape_like(condition.value)]
    if condition.operator == "contains":
        return f"strpos(upper({column}), upper(%s)) > 0", [condition.value]
    return f"{column} ~* %s", [condition.value]


def rule_update_sql(rule: ImportRule, channel_code: str | None) -> tuple[str, list[Any]]:
    """The UPDATE that applies `rule` to the staging lines no earlier rule matched."""
    where = ["rule_id IS NULL"]
    params: list[Any] = [rule.pk, rule.set_fund_id, rule.set_reference or None]
    params += [rule.set_channel_id, channel_code, bool(rule.set_reference)]
    for condition in rule_conditions(rule):
        sql, values = condition_sql(condition)
        where.append(sql)
        params += values
    # Each condition's SQL is ours, with its values as parameters.
    return (
        "UPDATE import_staging SET rule_id = %s, rule_fund_id = %s, "  # noqa: S608
        "reference = coalesce(%s, reference), channel_id = coalesce(%s, channel_id), "
        "channel_code = coalesce(%s, channel_code), reference_changed = %s "
        f"WHERE {' AND '.join(where)}",
        params,
    )
