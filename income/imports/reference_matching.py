"""Which fund a reference belongs to, by the funds' reference rules (length, mask, pattern,
check digit), checked in Python while the file streams: a million references a few seconds."""

import re
import string
from dataclasses import dataclass

from income.models import Fund
from income.reference_rules import expected_check_character, normalise
from income.reference_rules.rule import MAX_REFERENCE_LENGTH

_MASK = {"#": "[0-9]", "@": "[A-Z]", "*": "[A-Z0-9]"}
_MASK_FIRST = {
    "#": string.digits,
    "@": string.ascii_uppercase,
    "*": string.ascii_uppercase + string.digits,
}


@dataclass(frozen=True)
class _CompiledRule:
    fund_id: int
    fund_code: str
    min_length: int
    max_length: int
    mask: re.Pattern[str] | None
    pattern: re.Pattern[str] | None
    check_digit: object | None
    # The characters a reference the rule accepts can begin with (its mask's first symbol),
    # or None when it may begin with anything.
    first_characters: str | None

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
            first_characters = None
            if spec.mask:
                symbols = spec.mask.upper()
                mask = re.compile(
                    "".join(_MASK.get(symbol, re.escape(symbol)) for symbol in symbols)
                )
                first_characters = _MASK_FIRST.get(symbols[0], symbols[0])
            self.rules.append(
                _CompiledRule(
                    fund_id=fund.pk,
                    fund_code=fund.code,
                    min_length=max(spec.min_length or 1, 1),
                    max_length=min(spec.max_length or MAX_REFERENCE_LENGTH, MAX_REFERENCE_LENGTH),
                    mask=mask,
                    pattern=re.compile(spec.pattern) if spec.pattern else None,
                    # Resolved once: a preset's settings are not remade for every line.
                    check_digit=spec.check_digit.resolved() if spec.check_digit else None,
                    first_characters=first_characters,
                )
            )
        # The rules worth trying, by a reference's first character: a million references
        # are each tried against the few rules they could fit, not against every rule.
        self.rules_for_any: list[_CompiledRule] = [
            rule for rule in self.rules if rule.first_characters is None
        ]
        self.rules_by_first: dict[str, list[_CompiledRule]] = {
            character: [
                rule
                for rule in self.rules
                if rule.first_characters is None or character in rule.first_characters
            ]
            for rule in self.rules
            for character in rule.first_characters or ""
        }

    def match(self, reference: str) -> tuple[int | None, str | None]:
        """(fund id, None) for exactly one match, else (None, why the line goes to suspense)."""
        cleaned = normalise(reference)
        if not cleaned:
            return None, "the line has no reference"
        candidates = self.rules_by_first.get(cleaned[0], self.rules_for_any)
        found = [rule for rule in candidates if rule.accepts(cleaned)]
        if len(found) == 1:
            return found[0].fund_id, None
        if found:
            codes = ", ".join(rule.fund_code for rule in found)
            return None, f"the reference {cleaned} fits the rules of more than one fund ({codes})"
        return None, f"the reference {cleaned} fits no fund's reference rule"
