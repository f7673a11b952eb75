"""A whole reference rule: length, mask, pattern and check digit, with the reason a reference
fails in words a cashier or a citizen can act on. A wrong check digit is only "not valid":
saying which digit was expected would turn a mistyped reference into someone else's valid
one, for staff as much as for the public."""

import re
from dataclasses import dataclass

from income.reference_rules.check_digits import CheckDigitScheme, expected_check_character
from income.reference_rules.masks import mask_problem

MAX_REFERENCE_LENGTH = 50


@dataclass(frozen=True)
class Outcome:
    valid: bool
    # Why not, as "must be…" or "is not…"; empty when all that may be said is that the
    # reference is not valid (a wrong check digit).
    reason: str = ""


@dataclass(frozen=True)
class ReferenceRuleSpec:
    min_length: int | None = None
    max_length: int | None = None
    mask: str = ""
    pattern: str = ""
    check_digit: CheckDigitScheme | None = None


def normalise(reference: str) -> str:
    """References are compared without spaces and in capitals, as payers write them loosely."""
    return "".join(reference.split()).upper()


def check_reference(spec: ReferenceRuleSpec, reference: str) -> Outcome:
    """Valid, or why not; never what the check digit should have been."""
    reference = normalise(reference)
    if not reference:
        return Outcome(False, "enter a reference")
    if len(reference) > MAX_REFERENCE_LENGTH:
        return Outcome(False, f"must be at most {MAX_REFERENCE_LENGTH} characters")
    if spec.min_length and len(reference) < spec.min_length:
        return Outcome(
            False, f"must be at least {spec.min_length} characters (it has {len(reference)})"
        )
    if spec.max_length and len(reference) > spec.max_length:
        return Outcome(
            False, f"must be at most {spec.max_length} characters (it has {len(reference)})"
        )
    if spec.mask:
        problem = mask_problem(spec.mask.upper(), reference)
        if problem:
            return Outcome(False, problem)
    if spec.pattern and not re.fullmatch(spec.pattern, reference):
        return Outcome(False, "is not in the expected format")
    if spec.check_digit is not None:
        if len(reference) < 2:
            return Outcome(False, "is too short to carry a check digit")
        if expected_check_character(spec.check_digit, reference[:-1]) != reference[-1]:
            return Outcome(False)
    return Outcome(True)
