"""Check-digit schemes, all configuration: weights, modulus, subtraction and substitutions.

- Weighted sum: the body (the reference without its last character) may have its leading
  characters replaced by a source substitution string of the same length; each digit is
  multiplied by the weight at its position (weights repeat if the body is longer), non-digits
  are skipped; the remainder modulo m, optionally subtracted from m, is mapped through the
  result substitutions (e.g. 10→X, 11→0) to the character the reference must end with.
- Dynix (library cards): over the body, a digit at an odd 0-based position is added as it is;
  one at an even position is multiplied by its weight, less 10 if the product exceeds 10, plus
  1 if the digit exceeds 4; the check is m minus the sum modulo m, through the substitutions.
- Luhn, and presets for plain mod 10 and mod 11, expressed through the weighted sum.
"""

from dataclasses import dataclass, field
from enum import StrEnum


class Method(StrEnum):
    WEIGHTED_SUM = "weighted_sum"
    DYNIX = "dynix"
    LUHN = "luhn"
    MOD10 = "mod10"
    MOD11 = "mod11"


@dataclass(frozen=True)
class CheckDigitScheme:
    method: Method
    weights: tuple[int, ...] = ()
    modulus: int = 11
    subtract_from_modulus: bool = False
    source_substitution: str = ""
    result_substitutions: dict[int, str] = field(default_factory=dict)

    def resolved(self) -> "CheckDigitScheme":
        """Presets are weighted sums with fixed settings."""
        if self.method == Method.MOD10:
            # Weights 3,1 from the left, subtracted from 10, 10 written as 0 (as EAN-13 does).
            return CheckDigitScheme(Method.WEIGHTED_SUM, (3, 1), 10, True, "", {10: "0"})
        if self.method == Method.MOD11:
            # Weights 7..2 from the left, subtracted from 11; 10 is X and 11 is 0.
            return CheckDigitScheme(
                Method.WEIGHTED_SUM, (7, 6, 5, 4, 3, 2), 11, True, "", {10: "X", 11: "0"}
            )
        return self


def describe_scheme(scheme: CheckDigitScheme) -> str:
    """The algorithm a scheme really runs, in words (a Luhn rule is modulus 10 whatever the
    unused modulus setting says)."""
    if scheme.method == Method.LUHN:
        return (
            "Luhn (modulus 10): from the right, every second digit of the body is doubled "
            "(less 9 when over 9); the check digit brings the total to a multiple of 10"
        )
    resolved = scheme.resolved()
    name = "Dynix" if resolved.method == Method.DYNIX else "Weighted sum"
    weights = ",".join(str(weight) for weight in resolved.weights) or "1"
    words = f"{name}, modulus {resolved.modulus}, weights {weights}"
    if resolved.method == Method.DYNIX or resolved.subtract_from_modulus:
        words += f", remainder subtracted from {resolved.modulus}"
    if resolved.source_substitution:
        words += f", body starts as {resolved.source_substitution}"
    if resolved.result_substitutions:
        shown = ", ".join(f"{n} is {c}" for n, c in sorted(resolved.result_substitutions.items()))
        words += f"; {shown}"
    return words


def parse_result_substitutions(text: str) -> dict[int, str]:
    """ "10:X,11:0" → {10: "X", 11: "0"}; raises ValueError saying what is wrong."""
    substitutions: dict[int, str] = {}
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        number, _, character = part.partition(":")
        if not number.strip().isdigit() or len(character.strip()) != 1:
            raise ValueError(f"“{part}” should look like 10:X (a number, a colon, a character)")
        substitutions[int(number)] = character.strip().upper()
    return substitutions


def _weight(weights: tuple[int, ...], position: int) -> int:
    return weights[position % len(weights)] if weights else 1


def _weighted_sum(scheme: CheckDigitScheme, body: str) -> int:
    if scheme.source_substitution:
        body = scheme.source_substitution + body[len(scheme.source_substitution) :]
    total = sum(
        int(character) * _weight(scheme.weights, position)
        for position, character in enumerate(body)
        if character.isdigit()
    )
    result = total % scheme.modulus
    return scheme.modulus - result if scheme.subtract_from_modulus else result


def _dynix(scheme: CheckDigitScheme, body: str) -> int:
    total = 0
    for position, character in enumerate(body):
        if not character.isdigit():
            continue
        digit = int(character)
        if position % 2 == 1:
            total += digit
            continue
        product = digit * _weight(scheme.weights, position)
        if product > 10:
            product -= 10
        if digit > 4:
            product += 1
        total += product
    return scheme.modulus - total % scheme.modulus


def _luhn(body: str) -> int:
    total = 0
    for position, character in enumerate(reversed([c for c in body if c.isdigit()])):
        digit = int(character)
        if position % 2 == 0:  # doubled: the digit next to the check digit, and every other
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10


def expected_check_character(scheme: CheckDigitScheme, body: str) -> str | None:
    """The character a reference with this body must end with; None if the scheme gives a
    number with no single character for it (e.g. 10 with no substitution)."""
    scheme = scheme.resolved()
    if scheme.method == Method.LUHN:
        value = _luhn(body)
    elif scheme.method == Method.DYNIX:
        value = _dynix(scheme, body)
    else:
        value = _weighted_sum(scheme, body)
    character = scheme.result_substitutions.get(value, str(value))
    return character if len(character) == 1 else None
