"""Suspense and refunds worked through the real pages, with their refusals."""

import datetime

import pytest
from django_tenants.utils import schema_context

from income.actions.receipts import Allocation, record_receipt
from income.balances import receipt_allocation
from income.models import Refund, RefundStatus
from tenants.models import CouncilRole
from tests.conftest import host_client, make_member
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def client_for(user, council):
    client = host_client(council)
    client.login(email=user.email, password=PASSWORD)
    return client


def receipt_in_suspense(channel, reference="CT-UNKNOWN", pence=5_000, key="s"):
    return record_receipt(
        channel=channel,
        amount_pence=pence,
        received_on=datetime.date(2026, 11, 1),
        allocations=[Allocation(None, pence)],
        idempotency_key=key,
        acting_user=None,
        payer_reference=reference,
        narrative="BGC SMITH J CT-UNKNOWN",
    ).receipt


def lines(*pairs):
    data = {
        "form-TOTAL_FORMS": "3",
        "form-INITIAL_FORMS": "0",
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "5",
    }
    for index, (fund, amount) in enumerate(pairs):
        data[f"form-{index}-fund"] = str(fund.pk)
        data[f"form-{index}-amount"] = amount
    return data


def test_the_worklist_shows_suspense_with_age_and_a_known_pattern(
    council_a, cash, council_tax, officer
):
    record_receipt(
        channel=cash,
        amount_pence=1_000,
        received_on=datetime.date(2026, 10, 1),
        allocations=[Allocation(council_tax, 1_000)],
        idempotency_key="earlier",
        acting_user=None,
        payer_reference="CT-UNKNOWN",
    )
    receipt = receipt_in_suspense(cash)
    page = client_for(officer, council_a).get("/suspense/").content.decode()
    assert receipt.number in page
    assert "£50.00 is waiting to be allocated" in page
    assert "Earlier payments with this reference went to CTAX" in page


def test_an_officer_splits_suspense_across_funds_with_a_note(
    council_a, cash, council_tax, parking, officer
):
    receipt = receipt_in_suspense(cash)
    client = client_for(officer, council_a)
    refused = client.post(
        f"/suspense/{receipt.number}/",
        {**lines((council_tax, "60.00")), "note": "Phoned the payer"},
    )
    assert "Only £50.00 of" in refused.content.decode()

    done = client.post(
        f"/suspense/{receipt.number}/",
        {**lines((council_tax, "30.00"), (parking, "20.00")), "note": "Phoned the payer"},
    )
    assert done.status_code == 302
    assert receipt_allocation(receipt) == {council_tax.pk: 3_000, parking.pk: 2_000}


def test_a_refund_is_raised_by_one_person_and_approved_by_another_through_the_pages(
    council_a, cash, council_tax, officer, manager
):
    receipt = record_receipt(
        channel=cash,
        amount_pence=8_000,
        received_on=datetime.date(2026, 11, 1),
        allocations=[Allocation(council_tax, 8_000)],
        idempotency_key="r",
        acting_user=None,
    ).receipt
    officer_client = client_for(officer, council_a)
    too_much = officer_client.post(
        f"/receipts/{receipt.number}/refund/",
        {"source": str(council_tax.pk), "amount": "80.01", "reason": "Overpaid"},
    )
    assert "At most £80.00 of" in too_much.content.decode()
    officer_client.post(
        f"/receipts/{receipt.number}/refund/",
        {"source": str(council_tax.pk), "amount": "30.00", "reason": "Overpaid"},
    )
    refund = Refund.objects.get()

    # The officer may not decide at all; the manager approves.
    assert officer_client.post(f"/refunds/{refund.pk}/", {"decision": "approve"}).status_code == 403
    manager_client = client_for(manager, council_a)
    manager_client.post(f"/refunds/{refund.pk}/", {"decision": "approve", "note": "Checked"})
    refund.refresh_from_db()
    assert refund.status == RefundStatus.APPROVED
    assert receipt_allocation(receipt) == {council_tax.pk: 5_000}
    assert "Awaiting approval" in manager_client.get("/refunds/").content.decode()


def test_a_manager_cannot_approve_their_own_refund_through_the_page(
    council_a, cash, council_tax, manager
):
    receipt = record_receipt(
        channel=cash,
        amount_pence=8_000,
        received_on=datetime.date(2026, 11, 1),
        allocations=[Allocation(council_tax, 8_000)],
        idempotency_key="own",
        acting_user=None,
    ).receipt
    client = client_for(manager, council_a)
    client.post(
        f"/receipts/{receipt.number}/refund/",
        {"source": str(council_tax.pk), "amount": "10.00", "reason": "Mine"},
    )
    refund = Refund.objects.get()
    response = client.post(f"/refunds/{refund.pk}/", {"decision": "approve"})
    assert response.status_code == 403
    refund.refresh_from_db()
    assert refund.status == RefundStatus.REQUESTED


def test_an_auditor_reads_the_worklists_but_changes_nothing(council_a, cash, council_tax):
    auditor = make_member(council_a, CouncilRole.AUDITOR)
    receipt = receipt_in_suspense(cash)
    client = client_for(auditor, council_a)
    assert client.get("/suspense/").status_code == 200
    assert client.get("/refunds/").status_code == 200
    for path, data in (
        (f"/suspense/{receipt.number}/", {**lines((council_tax, "50.00")), "note": "x"}),
        (
            f"/receipts/{receipt.number}/refund/",
            {"source": "suspense", "amount": "1.00", "reason": "x"},
        ),
    ):
        assert client.post(path, data).status_code == 403, path
    with schema_context(council_a.schema_name):
        assert receipt_allocation(receipt) == {None: 5_000}
        assert not Refund.objects.exists()


def test_a_transfer_by_page_can_be_reversed_by_page(council_a, cash, council_tax, parking, officer):
    receipt = record_receipt(
        channel=cash,
        amount_pence=4_000,
        received_on=datetime.date(2026, 11, 1),
        allocations=[Allocation(council_tax, 4_000)],
        idempotency_key="tr",
        acting_user=None,
    ).receipt
    client = client_for(officer, council_a)
    client.post(
        f"/receipts/{receipt.number}/transfer/",
        {"from_fund": council_tax.pk, "to_fund": parking.pk, "amount": "15.00", "note": "Wrong"},
    )
    assert receipt_allocation(receipt) == {council_tax.pk: 2_500, parking.pk: 1_500}
    from income.models import Journal

    journal = Journal.objects.get(kind="transfer")
    assert (
        f"/journals/{journal.pk}/reverse/"
        in client.get(f"/receipts/{receipt.number}/").content.decode()
    )
    client.post(f"/journals/{journal.pk}/reverse/", {"note": "It was right"})
    assert receipt_allocation(receipt) == {council_tax.pk: 4_000}
