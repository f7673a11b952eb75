"""Import rules' conditions and what each means, as SQL (income.imports.rule_matching decides
in Python only where the answer is the same)."""

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


def condition_sql(condition: Condition, *, column: str | None = None) -> tuple[str, list[Any]]:
    """The condition as SQL over `column` (by default the line's own field)."""
    if condition.field == "amount":
        op = {"equals": "=", "greater_than": ">", "less_than": "<"}[condition.operator]
        return f"{column or 'amount_pence'} {op} %s", [int(condition.value)]
    column = column or TEXT_FIELDS[condition.field]
    if condition.operator == "equals":
        return f"upper({column}) = upper(%s)", [condition.value]
    if condition.operator == "starts_with":
        return f"upper({column}) LIKE upper(%s) || '%%'", [_escape_like(condition.value)]
    if condition.operator == "contains":
        return f"strpos(upper({column}), upper(%s)) > 0", [condition.value]
    return f"{column} ~* %s", [condition.value]
