"""Import rules decided in Python mean what their SQL means: every condition, over text in and
beyond ASCII, gives the same answer as PostgreSQL gives it alone."""

import datetime

import pytest
from django.db import connection

from income.imports.lines import ImportLine
from income.imports.rule_matching import RuleMatcher, ascii_upper_case_agrees
from income.models import ImportRule

DAY = datetime.date(2026, 11, 20)
# ASCII, accents, a sharp s (upper-cases to two letters in Python, one in PostgreSQL), a
# Turkish dotless i, LIKE's own characters, a backslash and Welsh.
TEXTS = [
    "PCN12345", "pcn12345", "", "Rent wk 1", "STRASSE 5", "Straße 5", "Émile Zola", "émile",
    "k\u0131rm\u0131z\u0131", "KIRMIZI", "50%_off", "back\\slash", "ŵyŷ Jones",
]  # fmt: skip
CONDITIONS = [
    (field, operator, value)
    for field in ("reference", "narrative", "payer_name")
    for operator in ("equals", "starts_with", "contains", "matches")
    for value in ("pcn", "PCN12345", "straße", "STRASSE", "émile", "I", "%_", "\\", "^[a-z]", "")
    if (operator, value) != ("matches", "\\")  # not a regular expression: refused when saved
] + [("amount", operator, "1000") for operator in ("equals", "greater_than", "less_than")]


def lines() -> list[ImportLine]:
    found = []
    for number, text in enumerate(TEXTS, start=1):
        for pence in (999, 1000, 1001):
            found.append(
                ImportLine(number, pence, DAY, text, text, text, "ALLPAY-PO", 1, f"k{number}")
            )
    return found


def applied(matcher: RuleMatcher, cursor) -> list[tuple[bool, str]]:
    """(whether a rule applied, the reference it left) for each line."""
    decided = lines()
    for line in decided:
        matcher.apply(line)
    matcher.settle_in_sql(cursor, decided)
    return [(line.rule_applied, line.posted_reference) for line in decided]


@pytest.mark.django_db
@pytest.mark.parametrize("field, operator, value", CONDITIONS)
def test_python_decides_each_condition_as_postgresql_does(field, operator, value):
    rule = ImportRule(
        name="one", conditions=[{"field": field, "operator": operator, "value": value}]
    )
    rule.set_reference = "MATCHED"
    with connection.cursor() as cursor:
        assert ascii_upper_case_agrees(cursor)
        in_python = applied(RuleMatcher([rule]), cursor)
        in_sql = applied(RuleMatcher([rule], decide_in_python=False), cursor)
    assert in_python == in_sql


@pytest.mark.django_db
def test_the_first_rule_a_line_meets_applies_though_python_could_not_decide_it():
    accented = ImportRule(
        name="accented",
        conditions=[{"field": "narrative", "operator": "contains", "value": "é"}],
        set_reference="FIRST",
    )
    any_line = ImportRule(name="any", conditions=[], set_reference="SECOND")
    with connection.cursor() as cursor:
        results = dict(
            zip(TEXTS, applied(RuleMatcher([accented, any_line]), cursor)[::3], strict=True)
        )
    # Undecided in Python (text beyond ASCII) and then met in SQL: the first rule (whether
    # "Émile" contains "é" follows the database's locale, so it is not asserted here).
    assert results["émile"] == (True, "FIRST")
    # Undecided and not met: the next rule still applies.
    assert results["Straße 5"] == (True, "SECOND")
    # Decided in Python: ASCII text cannot contain "é".
    assert results["PCN12345"] == (True, "SECOND")
