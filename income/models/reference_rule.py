import re

from django.core.exceptions import ValidationError
from django.db import models

from income.reference_rules import (
    CheckDigitScheme,
    Method,
    Outcome,
    ReferenceRuleSpec,
    check_reference,
)
from income.reference_rules.check_digits import describe_scheme, parse_result_substitutions

# The modulus each preset runs with, whatever the form's modulus box says.
PRESET_MODULUS = {Method.LUHN: 10, Method.MOD10: 10, Method.MOD11: 11}

MAX_PATTERN_LENGTH = 200


class ReferenceRule(models.Model):
    """How a fund's references look: length, input mask, pattern and check digit."""

    class CheckDigit(models.TextChoices):
        NONE = "", "No check digit"
        WEIGHTED_SUM = Method.WEIGHTED_SUM, "Weighted sum"
        DYNIX = Method.DYNIX, "Dynix (library)"
        LUHN = Method.LUHN, "Luhn"
        MOD10 = Method.MOD10, "Modulus 10 (weights 3,1)"
        MOD11 = Method.MOD11, "Modulus 11 (weights 7 to 2, 10 is X)"

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    min_length = models.PositiveSmallIntegerField(null=True, blank=True)
    max_length = models.PositiveSmallIntegerField(null=True, blank=True)
    input_mask = models.CharField(
        max_length=50, blank=True, help_text="# a digit, @ a letter, * either; others as they are"
    )
    pattern = models.CharField(
        max_length=MAX_PATTERN_LENGTH, blank=True, help_text="A regular expression (optional)"
    )
    check_digit_method = models.CharField(
        max_length=20, choices=CheckDigit.choices, blank=True, default=""
    )
    weights = models.CharField(max_length=100, blank=True, help_text="For example 7,6,5,4,3,2")
    modulus = models.PositiveSmallIntegerField(
        default=11, help_text="For a weighted sum or Dynix; Luhn and the presets set their own"
    )
    subtract_from_modulus = models.BooleanField(default=False)
    source_substitution = models.CharField(max_length=20, blank=True)
    result_substitutions = models.CharField(
        max_length=100, blank=True, help_text="For example 10:X,11:0"
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: object, **kwargs: object) -> None:
        if self.check_digit_method in PRESET_MODULUS:
            # Stored as the algorithm runs, so the rule's page cannot say "modulus 11" of Luhn.
            self.modulus = PRESET_MODULUS[Method(self.check_digit_method)]
        super().save(*args, **kwargs)

    def clean(self) -> None:
        problems: dict[str, str] = {}
        try:
            self._weights()
        except ValueError:
            problems["weights"] = "Enter whole numbers separated by commas, like 7,6,5,4,3,2."
        try:
            parse_result_substitutions(self.result_substitutions)
        except ValueError as error:
            problems["result_substitutions"] = str(error)
        if self.pattern:
            try:
                re.compile(self.pattern)
            except re.error as error:
                problems["pattern"] = f"This is not a valid regular expression: {error}."
        if self.min_length and self.max_length and self.min_length > self.max_length:
            problems["max_length"] = "The maximum length must be at least the minimum."
        if self.input_mask and self.max_length and len(self.input_mask) > self.max_length:
            problems["input_mask"] = "The mask is longer than the maximum length."
        if self.modulus < 2:
            problems["modulus"] = "The modulus must be 2 or more."
        if problems:
            raise ValidationError(problems)

    def _weights(self) -> tuple[int, ...]:
        return tuple(int(part) for part in self.weights.split(",") if part.strip())

    def spec(self) -> ReferenceRuleSpec:
        scheme = None
        if self.check_digit_method:
            scheme = CheckDigitScheme(
                method=Method(self.check_digit_method),
                weights=self._weights(),
                modulus=self.modulus,
                subtract_from_modulus=self.subtract_from_modulus,
                source_substitution=self.source_substitution.upper(),
                result_substitutions=parse_result_substitutions(self.result_substitutions),
            )
        return ReferenceRuleSpec(
            min_length=self.min_length,
            max_length=self.max_length,
            mask=self.input_mask,
            pattern=self.pattern,
            check_digit=scheme,
        )

    @property
    def check_digit_summary(self) -> str:
        """The check-digit algorithm this rule really runs, in words."""
        scheme = self.spec().check_digit
        return describe_scheme(scheme) if scheme else "No check digit"

    def check_reference(self, reference: str) -> Outcome:
        return check_reference(self.spec(), reference)
