"""Reference rules: masks, lengths, patterns and every check-digit scheme, with reasons."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from income.imports.reference_matching import FundMatcher
from income.models import Fund, ReferenceRule
from income.reference_rules import (
    CheckDigitScheme,
    Method,
    ReferenceRuleSpec,
    check_reference,
    expected_check_character,
)

ISBN10 = CheckDigitScheme(
    Method.WEIGHTED_SUM, (10, 9, 8, 7, 6, 5, 4, 3, 2), 11, True, "", {10: "X", 11: "0"}
)
LUHN = CheckDigitScheme(Method.LUHN)
MOD11 = CheckDigitScheme(Method.MOD11)
# Worked by hand: body 123456, weight 2 everywhere, modulus 10. Even positions: 1*2=2, 3*2=6,
# 5*2=10 (not over 10) +1 as 5>4 = 11; odd positions add 2, 4, 6: 2+2+6+4+11+6 = 31, and
# 10 - 31 mod 10 = 9.
DYNIX = CheckDigitScheme(Method.DYNIX, (2,), 10, False, "", {10: "0"})


def valid(spec: ReferenceRuleSpec, reference: str) -> bool:
    return check_reference(spec, reference).valid


@pytest.mark.parametrize(
    ("scheme", "reference"),
    [
        (LUHN, "79927398713"),
        (LUHN, "4111 1111 1111 1111"),
        (ISBN10, "0306406152"),
        (ISBN10, "080442957X"),
        (DYNIX, "1234569"),
    ],
)
def test_known_good_references_pass(scheme, reference):
    assert valid(ReferenceRuleSpec(check_digit=scheme), reference)


def test_a_wrong_check_digit_is_only_not_valid_never_what_it_should_be():
    # Saying "should be 3" would turn a mistyped account into another valid one.
    outcome = check_reference(ReferenceRuleSpec(check_digit=LUHN), "79927398714")
    assert not outcome.valid
    assert outcome.reason == ""


def test_source_substitution_replaces_the_leading_characters():
    # "AB" stands for 12 in this council's scheme: AB345 is checked as if it were 12345.
    scheme = CheckDigitScheme(Method.WEIGHTED_SUM, (1,), 10, False, "12", {})
    assert expected_check_character(scheme, "AB345") == str((1 + 2 + 3 + 4 + 5) % 10)


@pytest.mark.parametrize(
    ("spec", "reference", "reason"),
    [
        (ReferenceRuleSpec(min_length=8), "1234567", "must be at least 8 characters (it has 7)"),
        (ReferenceRuleSpec(max_length=4), "12345", "must be at most 4 characters (it has 5)"),
        (ReferenceRuleSpec(mask="@@####"), "AB12", "must be 6 characters, like @@#### (it has 4)"),
        (ReferenceRuleSpec(mask="@@####"), "A11234", 'character 2 must be a letter (it is "1")'),
        (ReferenceRuleSpec(mask="PCN###"), "PCX123", 'character 3 must be "N" (it is "X")'),
        (ReferenceRuleSpec(pattern=r"50\d+"), "4012", "is not in the expected format"),
        (ReferenceRuleSpec(), "   ", "enter a reference"),
    ],
)
def test_bad_references_get_a_reason_a_person_can_act_on(spec, reference, reason):
    outcome = check_reference(spec, reference)
    assert not outcome.valid
    assert outcome.reason == reason


def test_references_are_compared_without_spaces_and_in_capitals():
    assert valid(ReferenceRuleSpec(mask="@@####"), " ab 12 34 ")


digits = st.text(alphabet="0123456789", min_size=1, max_size=15)


@given(body=digits, scheme=st.sampled_from([LUHN, ISBN10, MOD11, DYNIX]))
def test_any_body_with_its_computed_check_character_is_valid(body, scheme):
    character = expected_check_character(scheme, body)
    if character is not None:
        assert valid(ReferenceRuleSpec(check_digit=scheme), body + character)


@given(body=digits, position=st.integers(min_value=0), change=st.integers(1, 9),
       scheme=st.sampled_from([LUHN, ISBN10]))  # fmt: skip
def test_changing_any_one_digit_is_caught(body, position, change, scheme):
    if scheme is ISBN10:
        body = body[:9]
    character = expected_check_character(scheme, body)
    if character is None:
        return
    position %= len(body)
    altered = body[:position] + str((int(body[position]) + change) % 10) + body[position + 1 :]
    assert not valid(ReferenceRuleSpec(check_digit=scheme), altered + character)


IMPORT_RULES = [
    ("CTAX", {"input_mask": "5#######", "check_digit_method": "luhn"}),
    ("NNDR", {"input_mask": "6#######", "check_digit_method": "mod11"}),
    ("RENT", {"input_mask": "RNT######"}),
    ("PARK", {"pattern": r"PCN\d{8}"}),
    ("ANY8", {"min_length": 8, "max_length": 8}),
    ("LETTER", {"input_mask": "@#####"}),
    ("ALNUM", {"input_mask": "*####", "check_digit_method": "mod10"}),
]
REFERENCES = st.one_of(
    st.text(alphabet="0123456789RNTPCAXQ @-", max_size=12),
    st.builds(
        lambda prefix, digits: prefix + digits,
        st.sampled_from(["5", "6", "RNT", "PCN", "A", "Z", "7", "R", " 5", "rnt"]),
        st.text(alphabet="0123456789", min_size=4, max_size=9),
    ),
)


@given(reference=REFERENCES)
def test_the_importers_matcher_finds_the_funds_whose_rules_accept_the_reference(reference):
    """The importer tries each reference only against the rules whose mask it could fit
    (by its first character): the outcome is that of trying every fund's rule."""
    funds = []
    for number, (code, rule) in enumerate(IMPORT_RULES, start=1):
        fund = Fund(pk=number, code=code, name=code)
        fund.reference_rule = ReferenceRule(name=code, **rule)
        funds.append(fund)
    fund_id, reason = FundMatcher(funds).match(reference)

    accepting = [fund for fund in funds if fund.reference_rule.check_reference(reference).valid]
    if len(accepting) == 1:
        assert (fund_id, reason) == (accepting[0].pk, None)
    else:
        assert fund_id is None
        for fund in accepting:
            assert fund.code in reason


@pytest.mark.parametrize(
    ("scheme", "words"),
    [
        (LUHN, "Luhn (modulus 10): from the right, every second digit of the body is doubled "
               "(less 9 when over 9); the check digit brings the total to a multiple of 10"),
        (CheckDigitScheme(Method.MOD11), "Weighted sum, modulus 11, weights 7,6,5,4,3,2, "
                                         "remainder subtracted from 11; 10 is X, 11 is 0"),
        (CheckDigitScheme(Method.WEIGHTED_SUM, (2, 1), 7), "Weighted sum, modulus 7, weights 2,1"),
    ],
)  # fmt: skip
def test_a_scheme_is_described_by_the_algorithm_it_really_runs(scheme, words):
    from income.reference_rules.check_digits import describe_scheme

    assert describe_scheme(scheme) == words
