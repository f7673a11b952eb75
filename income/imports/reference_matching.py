"""Which fund a reference belongs to, by the funds' reference rules (length, mask, pattern,
check digit), checked in Python while the file streams: a million references a few seconds."""

import re
from dataclasses import dataclass

from income.models import Fund
from income.reference_rules import expected_check_character, normalise
from income.reference_rules.rule import MAX_REFERENCE_LENGTH

_MASK = {"#": "[0-9]", "@": "[A-Z]", "*": "[A-Z0-9]"}


@dataclass(frozen=True)
class _CompiledRule:
    fund_id: int
    fund_code: str
    min_length: int
    max_length: int
    mask: re.Pattern[str] | None
    pattern: re.Pattern[str] | None
    check_digit: object | None

    def accepts(self, reference: str) -> bool:
        length = len(reference)
        if length < self.min_length or length > self.max_length:
            return False
        if self.mask is not None and self.mask.fullmatch(reference) is None:
            return False
        if self.pattern is not None and self.pattern.fullmatch(reference) is None:
            return False
        if self.check_digit is not None:
            if length < 2:
                return False
            return expected_check_character(self.check_digit, reference[:-1]) == reference[-1]
        return True


class FundMatcher:
    """Matches references to the one fund whose rule accepts them."""

    def __init__(self, funds: list[Fund]) -> None:
        self.rules: list[_CompiledRule] = []
        for fund in funds:
            rule = fund.reference_rule
            if rule is None or not rule.is_active:
                continue
            spec = rule.spec()
            mask = None
            if spec.mask:
                mask = re.compile(
                    "".join(_MASK.get(symbol, re.escape(symbol)) for symbol in spec.mask.upper())
                )
            self.rules.append(
                _CompiledRule(
                    fund_id=fund.pk,
                    fund_code=fund.code,
                    min_length=max(spec.min_length or 1, 1),
                    max_length=min(spec.max_length or MAX_REFERENCE_LENGTH, MAX_REFERENCE_LENGTH),
                    mask=mask,
                    pattern=re.compile(spec.pattern) if spec.pattern else None,
                    check_digit=spec.check_digit,
                )
            )

    def match(self, reference: str) -> tuple[int | None, str | None]:
        """(fund id, None) for exactly one match, else (None, why the line goes to suspense)."""
        cleaned = normalise(reference)
        if not cleaned:
            return None, "the line has no reference"
        found = [rule for rule in self.rules if rule.accepts(cleaned)]
        if len(found) == 1:
            return found[0].fund_id, None
        if found:
            codes = ", ".join(rule.fund_code for rule in found)
            return None, f"the reference {cleaned} fits the rules of more than one fund ({codes})"
        return None, f"the reference {cleaned} fits no fund's reference rule"
