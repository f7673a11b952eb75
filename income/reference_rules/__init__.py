"""Checking a payer's reference against a council's rule: length, input mask, pattern and
check digit. Pure Python, no Django: each council enters its own scheme as configuration."""

from income.reference_rules.check_digits import CheckDigitScheme, Method, expected_check_character
from income.reference_rules.rule import Outcome, ReferenceRuleSpec, check_reference, normalise

__all__ = [
    "CheckDigitScheme",
    "Method",
    "Outcome",
    "ReferenceRuleSpec",
    "check_reference",
    "expected_check_character",
    "normalise",
]
