"""Import rules applied to a file's lines: in the rules' order, the first rule whose every
condition a line meets is the one applied to it.

A condition means what its SQL says (income.imports.rules_sql: `upper()`, `LIKE`, `strpos`,
`~*`), so where Python could answer differently PostgreSQL answers instead:

- amounts, and text conditions whose value and whose line's text are both ASCII, are decided
  in Python while the file is read (ASCII letters upper-case alike in Python and in the
  database, which `ascii_upper_case_agrees` checks once per import);
- a regular expression, or text beyond ASCII (where `upper()` follows the database's
  locale), leaves the line undecided from that rule on; `settle_in_sql` then asks PostgreSQL,
  one statement per condition for all such lines of a chunk.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from income.imports.lines import ImportLine
from income.imports.rules_sql import Condition, condition_sql, rule_conditions
from income.models import ImportRule

# The line's text each condition field reads (as the file gave it).
LINE_TEXT: dict[str, Callable[[ImportLine], str]] = {
    "reference": lambda line: line.reference,
    "narrative": lambda line: line.narrative,
    "payer_name": lambda line: line.payer_name,
    "channel": lambda line: line.channel_code,
}
UNDECIDED = None


@dataclass(frozen=True)
class RuleAction:
    """What a rule does to a line it matches."""

    fund_id: int | None
    reference: str  # '' keeps the line's own
    channel_id: int | None


def _python_test(condition: Condition) -> Callable[[ImportLine], bool | None]:
    """The condition as a test of a line: True or False, or None where PostgreSQL decides."""
    if condition.field == "amount":
        pence = int(condition.value)
        return {
            "equals": lambda line: line.amount_pence == pence,
            "greater_than": lambda line: line.amount_pence > pence,
            "less_than": lambda line: line.amount_pence < pence,
        }[condition.operator]
    text = LINE_TEXT[condition.field]
    if condition.operator == "matches" or not condition.value.isascii():
        return lambda line: UNDECIDED
    wanted = condition.value.upper()

    def ascii_only(test: Callable[[str], bool]) -> Callable[[ImportLine], bool | None]:
        def decide(line: ImportLine) -> bool | None:
            value = text(line)
            return test(value.upper()) if value.isascii() else UNDECIDED

        return decide

    if condition.operator == "equals":
        return ascii_only(lambda value: value == wanted)
    if condition.operator == "starts_with":
        return ascii_only(lambda value: value.startswith(wanted))
    return ascii_only(lambda value: wanted in value)  # contains


class RuleMatcher:
    """The council's active import rules, in order, compiled once per import."""

    def __init__(self, rules: list[ImportRule], *, decide_in_python: bool = True) -> None:
        self.rules = rules
        self.actions = [
            RuleAction(
                fund_id=rule.set_fund_id,
                reference=rule.set_reference,
                channel_id=rule.set_channel_id,
            )
            for rule in rules
        ]
        self.conditions = [rule_conditions(rule) for rule in rules]
        # With `decide_in_python` off (a database whose upper() differs for ASCII), every
        # line is left to PostgreSQL from the first rule.
        self.tests = [
            [_python_test(c) if decide_in_python else (lambda line: UNDECIDED) for c in conditions]
            for conditions in self.conditions
        ]

    def apply(self, line: ImportLine) -> None:
        """Apply the first rule the line matches, or note the first rule Python cannot
        decide for it (`line.undecided_rule`)."""
        for index, tests in enumerate(self.tests):
            matched: bool | None = True
            for test in tests:
                result = test(line)
                if result is False:
                    matched = False
                    break
                if result is UNDECIDED:
                    matched = UNDECIDED
            if matched is UNDECIDED:
                line.undecided_rule = index
                return
            if matched:
                self._apply_action(line, self.actions[index])
                return

    @staticmethod
    def _apply_action(line: ImportLine, action: RuleAction) -> None:
        line.rule_applied = True
        line.rule_fund_id = action.fund_id
        if action.reference:
            line.posted_reference = action.reference
        if action.channel_id is not None:
            line.posted_channel_id = action.channel_id

    def settle_in_sql(self, cursor: Any, lines: list[ImportLine]) -> list[ImportLine]:
        """Decide the undecided lines in PostgreSQL, each from its first undecided rule on;
        returns those lines (now decided)."""
        pending = [line for line in lines if line.undecided_rule is not None]
        if not pending:
            return []
        for index in range(min(line.undecided_rule for line in pending), len(self.rules)):
            candidates = [
                line
                for line in pending
                if not line.rule_applied and line.undecided_rule <= index  # type: ignore[operator]
            ]
            if not candidates:
                continue
            matching = set(range(len(candidates)))
            for condition in self.conditions[index]:
                matching &= _matching_in_sql(cursor, condition, candidates)
            for position in matching:
                self._apply_action(candidates[position], self.actions[index])
        for line in pending:
            line.undecided_rule = None
        return pending


def _matching_in_sql(cursor: Any, condition: Condition, lines: list[ImportLine]) -> set[int]:
    """The positions in `lines` of the lines that meet `condition`, by its own SQL."""
    if condition.field == "amount":
        values: list[Any] = [line.amount_pence for line in lines]
        array_type = "bigint[]"
    else:
        text = LINE_TEXT[condition.field]
        values = [text(line) for line in lines]
        array_type = "text[]"
    sql, params = condition_sql(condition, column="line.value")
    # The condition's SQL is ours (income.imports.rules_sql), with its values as parameters.
    cursor.execute(
        f"SELECT line.position - 1 FROM unnest(%s::{array_type}) "  # noqa: S608
        f"WITH ORDINALITY AS line(value, position) WHERE {sql}",
        [values, *params],
    )
    return {row[0] for row in cursor.fetchall()}


def ascii_upper_case_agrees(cursor: Any) -> bool:
    """Whether the database upper-cases ASCII letters as Python does (not, say, a Turkish
    locale, where upper('i') is 'İ')."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    cursor.execute("SELECT upper(%s)", [letters])
    return cursor.fetchone()[0] == letters.upper()
