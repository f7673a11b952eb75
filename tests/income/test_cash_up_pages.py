"""A cashier cashes up through the page; a manager authorises; the cashier cannot."""

import datetime

import pytest

from income.accounts import bank_account
from income.actions.receipts import Allocation, record_receipt
from income.balances import account_balance
from income.models import CashUp, CashUpStatus
from tests.conftest import host_client
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2026, 11, 24)


def client_for(user, council):
    client = host_client(council)
    client.login(email=user.email, password=PASSWORD)
    return client


def count(**counts):
    data = {
        "business_date": "24/11/2026",
        "note": "",
        "cheque-TOTAL_FORMS": "5",
        "cheque-INITIAL_FORMS": "0",
        "cheque-MIN_NUM_FORMS": "0",
        "cheque-MAX_NUM_FORMS": "50",
    }
    data.update({f"count_{pence}": str(n) for pence, n in counts.items()})
    return data


def test_cash_up_by_page_is_authorised_by_someone_else_and_banked(
    council_a, cash, council_tax, officer, manager
):
    record_receipt(
        channel=cash,
        amount_pence=3_500,
        received_on=TODAY,
        allocations=[Allocation(council_tax, 3_500)],
        idempotency_key="cu",
        acting_user=officer,
    )
    cashier = client_for(officer, council_a)
    short = cashier.post("/cash-ups/new/", count(**{"2000": 1}))
    # Blind: the cashier learns that the count differs, never by how much.
    assert "The count does not match the takings: explain the difference in the note." in (
        short.content.decode()
    )
    assert "£15.00" not in short.content.decode() and "£35.00" not in short.content.decode()

    assert (
        cashier.post("/cash-ups/new/", count(**{"2000": 1, "1000": 1, "500": 1})).status_code == 302
    )
    cash_up = CashUp.objects.get()
    assert cashier.post(f"/cash-ups/{cash_up.pk}/").status_code == 403

    client_for(manager, council_a).post(f"/cash-ups/{cash_up.pk}/")
    cash_up.refresh_from_db()
    assert cash_up.status == CashUpStatus.AUTHORISED
    assert account_balance(bank_account()) == 3_500


def test_a_count_beyond_any_till_is_refused_not_an_error_page(council_a, cash, officer):
    # Security finding 11: 10^20 fifty-pound notes overflowed the total.
    response = client_for(officer, council_a).post("/cash-ups/new/", count(**{"5000": 10**20}))

    assert response.status_code == 200
    assert "Enter a count of no more than 1,000,000." in response.content.decode()
    assert not CashUp.objects.exists()
