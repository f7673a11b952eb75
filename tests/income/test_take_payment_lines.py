"""The take-payment form's lines: "Add another fund" adds one (a plain submit button, so it
works without JavaScript), keeps what was typed, records nothing, and stops at ten."""

import re

import pytest
from django_tenants.utils import schema_context

from income.models import Channel, Receipt
from tenants.models import CouncilRole
from tests.conftest import host_client, make_member
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def signed_in(council):
    member = make_member(council, CouncilRole.INCOME_OFFICER)
    client = host_client(council)
    client.login(email=member.email, password=PASSWORD)
    return client


def line_count(page: str) -> int:
    return len(re.findall(r'name="form-\d+-fund"', page))


def sent(lines: int, **fields):
    data = {
        "submission_token": "tok-lines",
        "channel": str(Channel.objects.get(code="CASH").pk),
        "received_on": "24/11/2026",
        "payer_name": "Jo Bloggs",
        "narrative": "",
        "form-TOTAL_FORMS": str(lines),
        "form-INITIAL_FORMS": "0",
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "10",
    }
    data.update(fields)
    return data


def test_add_another_fund_adds_a_line_and_keeps_what_was_typed(council_a, council_tax, parking):
    client = signed_in(council_a)
    first = client.get("/receipts/new/").content.decode()
    assert line_count(first) == 3
    assert 'name="add_line"' in first and "Add another fund" in first

    data = sent(
        3,
        **{
            "form-0-fund": str(council_tax.pk),
            "form-0-reference": "50000009",
            "form-0-amount": "100.00",
            "form-1-fund": str(parking.pk),
            "form-1-reference": "PN123456",
            "form-1-amount": "35.50",
            "form-2-fund": str(parking.pk),  # half filled: not an error yet
            "add_line": "1",
        },
    )
    page = client.post("/receipts/new/", data).content.decode()

    assert line_count(page) == 4
    assert 'value="PN123456"' in page and 'value="35.50"' in page and 'value="Jo Bloggs"' in page
    assert "There is a problem" not in page
    with schema_context(council_a.schema_name):
        assert not Receipt.objects.exists()

    # The fourth line is taken like the others.
    data = sent(
        4,
        **{
            "form-INITIAL_FORMS": "3",
            "form-0-fund": str(council_tax.pk),
            "form-0-amount": "100.00",
            "form-1-fund": str(parking.pk),
            "form-1-amount": "35.50",
            "form-3-fund": str(parking.pk),
            "form-3-reference": "PN000001",
            "form-3-amount": "4.50",
        },
    )
    assert client.post("/receipts/new/", data).status_code == 302
    with schema_context(council_a.schema_name):
        assert Receipt.objects.get().amount_pence == 14_000


def test_the_form_stops_at_ten_lines(council_a, council_tax):
    client = signed_in(council_a)
    page = client.post("/receipts/new/", sent(9, add_line="1")).content.decode()
    assert line_count(page) == 10
    assert 'name="add_line"' not in page
    again = client.post("/receipts/new/", sent(10, add_line="1")).content.decode()
    assert line_count(again) == 10
