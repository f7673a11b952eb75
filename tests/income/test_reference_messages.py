"""A wrong check digit is refused to staff with only "not valid": nothing that would turn a
mistyped account into another valid one."""

import pytest

from income.models import Receipt, ReferenceRule
from tenants.models import CouncilRole
from tests.conftest import host_client, make_member
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_staff_taking_a_payment_are_told_only_that_the_reference_is_not_valid(
    council_a, cash, council_tax
):
    council_tax.reference_rule = ReferenceRule.objects.create(
        name="Council Tax account", input_mask="5#######", check_digit_method="luhn"
    )
    council_tax.save()
    officer = make_member(council_a, CouncilRole.INCOME_OFFICER)
    client = host_client(council_a)
    client.login(email=officer.email, password=PASSWORD)
    form = {
        "submission_token": "tok-check-digit", "channel": str(cash.pk),
        "received_on": "24/11/2026", "payer_name": "Jo Bloggs", "narrative": "",
        "form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "0", "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "10", "form-0-fund": str(council_tax.pk),
        "form-0-reference": "50000001", "form-0-amount": "10.00",
    }  # fmt: skip

    page = client.post("/receipts/new/", form).content.decode()  # the right digit is 9

    assert "The reference for CTAX is not valid." in page
    assert "check digit should be" not in page and "should be 9" not in page
    assert not Receipt.objects.exists()
    valid = client.post("/receipts/new/", {**form, "form-0-reference": "50000009"})
    assert valid.status_code == 302 and Receipt.objects.count() == 1
