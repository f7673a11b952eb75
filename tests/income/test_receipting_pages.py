"""Taking a payment at the counter, and reading a receipt's history, through the real views."""

import pytest
from django_tenants.utils import schema_context

from income.models import Receipt
from tenants.models import CouncilRole
from tests.conftest import host_client, make_member
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def signed_in(council, role=CouncilRole.INCOME_OFFICER):
    member = make_member(council, role)
    client = host_client(council)
    client.login(email=member.email, password=PASSWORD)
    return client


def payment(council_tax, parking, token="tok-1", **overrides):  # noqa: S107
    from income.models import Channel

    data = {
        "submission_token": token,
        "channel": str(Channel.objects.get(code="CASH").pk),
        "received_on": "24/11/2026",
        "payer_name": "Jo Bloggs",
        "narrative": "",
        "form-TOTAL_FORMS": "3",
        "form-INITIAL_FORMS": "0",
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "10",
        "form-0-fund": str(council_tax.pk),
        "form-0-reference": "CT123",
        "form-0-amount": "100.00",
        "form-1-fund": str(parking.pk),
        "form-1-reference": "PCN9",
        "form-1-amount": "£25.50",
    }
    data.update(overrides)
    return data


def test_an_officer_takes_a_split_payment_once_even_if_the_form_is_sent_twice(
    council_a, council_tax, parking
):
    client = signed_in(council_a)
    assert b"Take a payment" in client.get("/receipts/new/").content

    first = client.post("/receipts/new/", payment(council_tax, parking))
    again = client.post("/receipts/new/", payment(council_tax, parking))

    assert first.status_code == 302
    assert again.status_code == 302
    assert first["Location"] == again["Location"]
    with schema_context(council_a.schema_name):
        receipt = Receipt.objects.get()
    assert receipt.amount_pence == 12_550
    page = client.get(first["Location"]).content.decode()
    assert "£125.50" in page
    assert "CTAX Council Tax" in page and "£100.00" in page
    assert "receipt.recorded" in page


def test_bad_amounts_and_half_filled_lines_are_explained_and_nothing_is_recorded(
    council_a, council_tax, parking
):
    client = signed_in(council_a)
    response = client.post(
        "/receipts/new/",
        payment(council_tax, parking, **{"form-0-amount": "12.345", "form-1-fund": ""}),
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "There is a problem" in page
    assert "no fractions of a penny" in page
    assert "Choose the fund this amount is for." in page
    with schema_context(council_a.schema_name):
        assert not Receipt.objects.exists()


def test_a_fund_rule_refusal_is_shown_on_the_form(council_a, council_tax, parking):
    parking.is_active = False
    parking.save()
    client = signed_in(council_a)
    page = client.post("/receipts/new/", payment(council_tax, parking)).content.decode()
    assert "is not one of the available choices" in page or "is disabled" in page
    with schema_context(council_a.schema_name):
        assert not Receipt.objects.exists()


def test_an_auditor_cannot_take_payments_by_page_or_by_posting(council_a, council_tax, parking):
    client = signed_in(council_a, CouncilRole.AUDITOR)
    assert client.get("/receipts/new/").status_code == 403
    assert client.post("/receipts/new/", payment(council_tax, parking)).status_code == 403
    with schema_context(council_a.schema_name):
        assert not Receipt.objects.exists()


def test_council_b_receipt_numbers_are_not_found_on_council_a(council_a, council_b, ledger):
    from income.actions.receipts import Allocation, record_receipt
    from income.defaults import seed_income_defaults
    from income.models import Channel

    with schema_context(council_b.schema_name):
        seed_income_defaults()
        receipt_b = record_receipt(
            channel=Channel.objects.get(code="CASH"),
            amount_pence=500,
            received_on=__import__("datetime").date(2026, 11, 24),
            allocations=[Allocation(None, 500)],
            idempotency_key="b-only",
            acting_user=None,
        ).receipt
    client = signed_in(council_a)
    assert client.get(f"/receipts/{receipt_b.number}/").status_code == 404


def test_the_audit_record_says_who_when_and_from_where(council_a, council_tax, parking):
    from tenants.audit.models import AuditEvent

    client = signed_in(council_a)
    client.post(
        "/receipts/new/",
        payment(council_tax, parking, token="audited"),
        HTTP_USER_AGENT="Counter PC 3",
        HTTP_X_REQUEST_ID="req-0000-1111",
        REMOTE_ADDR="10.1.2.3",
    )
    with schema_context(council_a.schema_name):
        event = AuditEvent.objects.get(action="receipt.recorded")
        receipt = Receipt.objects.get()
    assert (event.ip_address, event.user_agent, event.request_id) == (
        "10.1.2.3",
        "Counter PC 3",
        "req-0000-1111",
    )
    assert event.actor_email.startswith("person")
    assert event.after["amount_pence"] == receipt.amount_pence == 12_550
    with schema_context(council_a.schema_name), pytest.raises(Exception, match="append-only"):
        AuditEvent.objects.filter(pk=event.pk).update(reason="tampered")


def test_take_payment_refuses_an_amount_beyond_any_payment(council_a, council_tax, parking):
    client = signed_in(council_a)
    response = client.post(
        "/receipts/new/",
        payment(council_tax, parking, **{"form-0-amount": "99999999999999999.99"}),
    )

    assert response.status_code == 200
    assert "Enter an amount of no more than £9,999,999,999.99." in response.content.decode()
    with schema_context(council_a.schema_name):
        assert not Receipt.objects.exists()
