"""Finding 5: a refund limit beaten by splitting. A manager (limit £1,000) could not approve a
£1,500 refund, which an admin rejected; the manager then approved two £750 refunds on the same
receipt. An approver's limit now counts everything refunded and waiting on the receipt, and on
the payer within a day; a refund on a receipt with a rejected one is approved only by someone
who confirms they have read it."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from income.actions.receipts import Allocation, record_receipt
from income.actions.refunds import approve_refund, raise_refund, reject_refund
from income.balances import refunded_pence
from income.defaults import seed_income_defaults
from income.models import Channel, Refund, RefundStatus
from tenants.audit.models import AuditEvent
from tenants.models import CouncilRole
from tests.conftest import host_client, make_member
from tests.factories import PASSWORD, FundFactory

MANAGER_LIMIT = (
    "Your role may approve refunds up to £1,000.00. With this one, £1,500.00 of {number} is "
    "refunded or waiting for approval: someone with a higher limit must approve it."
)
PAYER_LIMIT = (
    "Your role may approve refunds up to £1,000.00. With this one, £1,200.00 is refunded or "
    "waiting for approval to this payer within a day: someone with a higher limit must "
    "approve it."
)


@pytest.fixture
def ledger(db, in_council_a):
    seed_income_defaults()
    return in_council_a


@pytest.fixture
def staff(council_a):
    return {
        role: make_member(council_a, role)
        for role in (CouncilRole.INCOME_OFFICER, CouncilRole.FINANCE_MANAGER, CouncilRole.ADMIN)
    }


@pytest.fixture
def council_tax(ledger):
    return FundFactory(code="CTAX", name="Council Tax")


def paid(council_tax, pence, *, key, payer="Alex Payer", reference=""):
    return record_receipt(
        channel=Channel.objects.get(code="CASH"),
        amount_pence=pence,
        received_on=datetime.date(2026, 11, 2),
        allocations=[Allocation(council_tax, pence)],
        idempotency_key=key,
        payer_name=payer,
        payer_reference=reference,
        acting_user=None,
    ).receipt


def raised(council, receipt, fund, pence, officer, reason="Paid twice"):
    return raise_refund(
        council=council, receipt=receipt, fund=fund, amount_pence=pence, reason=reason,
        acting_user=officer,
    )  # fmt: skip


def test_a_refused_refund_cannot_be_approved_in_two_halves(ledger, staff, council_tax):
    officer = staff[CouncilRole.INCOME_OFFICER]
    manager = staff[CouncilRole.FINANCE_MANAGER]
    admin = staff[CouncilRole.ADMIN]
    receipt = paid(council_tax, 200_000, key="split")

    whole = raised(ledger, receipt, council_tax, 150_000, officer)
    with pytest.raises(PermissionDenied, match=r"^Your role may approve refunds up to £1,000.00.$"):
        approve_refund(council=ledger, refund=whole, acting_user=manager)
    reject_refund(council=ledger, refund=whole, acting_user=admin, note="Not owed")

    first = raised(ledger, receipt, council_tax, 75_000, officer)
    approve_refund(
        council=ledger, refund=first, acting_user=manager, rejected_refunds_seen=[whole.pk]
    )
    second = raised(ledger, receipt, council_tax, 75_000, officer)
    with pytest.raises(PermissionDenied) as refusal:
        approve_refund(
            council=ledger, refund=second, acting_user=manager, rejected_refunds_seen=[whole.pk]
        )
    assert str(refusal.value) == MANAGER_LIMIT.format(number=receipt.number)

    # Nothing valid was lost: the second half waits, and someone allowed more approves it.
    second.refresh_from_db()
    assert second.status == RefundStatus.REQUESTED
    assert refunded_pence(receipt) == 75_000
    approve_refund(
        council=ledger, refund=second, acting_user=admin, rejected_refunds_seen=[whole.pk]
    )
    assert refunded_pence(receipt) == 150_000


def test_a_refund_waiting_on_the_receipt_counts_towards_the_limit(ledger, staff, council_tax):
    officer = staff[CouncilRole.INCOME_OFFICER]
    manager = staff[CouncilRole.FINANCE_MANAGER]
    receipt = paid(council_tax, 200_000, key="pending")
    raised(ledger, receipt, council_tax, 75_000, officer)
    waiting = raised(ledger, receipt, council_tax, 75_000, officer)
    with pytest.raises(PermissionDenied) as refusal:
        approve_refund(council=ledger, refund=waiting, acting_user=manager)
    assert str(refusal.value) == MANAGER_LIMIT.format(number=receipt.number)
    assert not Refund.objects.filter(status=RefundStatus.APPROVED).exists()


def test_a_payers_refunds_within_a_day_count_together(ledger, staff, council_tax):
    officer = staff[CouncilRole.INCOME_OFFICER]
    manager = staff[CouncilRole.FINANCE_MANAGER]
    one = paid(council_tax, 80_000, key="payer-1", payer="  sam   SMITH ")
    other = paid(council_tax, 80_000, key="payer-2", payer="Sam Smith")
    stranger = paid(council_tax, 80_000, key="payer-3", payer="Kim Jones")

    approve_refund(
        council=ledger, refund=raised(ledger, one, council_tax, 60_000, officer),
        acting_user=manager,
    )  # fmt: skip
    second = raised(ledger, other, council_tax, 60_000, officer)
    with pytest.raises(PermissionDenied) as refusal:
        approve_refund(council=ledger, refund=second, acting_user=manager)
    assert str(refusal.value) == PAYER_LIMIT

    # Someone else's refund is theirs alone, and a day later the payer's first one is past.
    approve_refund(
        council=ledger, refund=raised(ledger, stranger, council_tax, 60_000, officer),
        acting_user=manager,
    )  # fmt: skip
    Refund.objects.filter(receipt=one).update(
        raised_at=second.raised_at - datetime.timedelta(days=1, minutes=1)
    )
    approve_refund(council=ledger, refund=second, acting_user=manager)
    assert Refund.objects.filter(status=RefundStatus.APPROVED).count() == 3


def test_the_same_reference_is_the_same_payer(ledger, staff, council_tax):
    officer = staff[CouncilRole.INCOME_OFFICER]
    manager = staff[CouncilRole.FINANCE_MANAGER]
    one = paid(council_tax, 80_000, key="ref-1", payer="", reference="CT123")
    other = paid(council_tax, 80_000, key="ref-2", payer="Someone", reference="ct123")
    approve_refund(
        council=ledger, refund=raised(ledger, one, council_tax, 60_000, officer),
        acting_user=manager,
    )  # fmt: skip
    with pytest.raises(PermissionDenied) as refusal:
        approve_refund(
            council=ledger, refund=raised(ledger, other, council_tax, 60_000, officer),
            acting_user=manager,
        )  # fmt: skip
    assert str(refusal.value) == PAYER_LIMIT


def test_the_approver_must_confirm_they_read_a_rejected_refund(ledger, staff, council_tax):
    officer = staff[CouncilRole.INCOME_OFFICER]
    manager = staff[CouncilRole.FINANCE_MANAGER]
    admin = staff[CouncilRole.ADMIN]
    receipt = paid(council_tax, 50_000, key="ack")
    refused = raised(ledger, receipt, council_tax, 40_000, officer, reason="Overpaid")
    reject_refund(council=ledger, refund=refused, acting_user=admin, note="Was not overpaid")
    again = raised(ledger, receipt, council_tax, 20_000, officer, reason="Overpaid a bit")

    with pytest.raises(ValidationError) as refusal:
        approve_refund(council=ledger, refund=again, acting_user=manager)
    assert refusal.value.messages == [
        f"A refund on {receipt.number} was rejected before (refund {refused.pk} of £400.00, "
        f"rejected by {admin.email}: Was not overpaid). Confirm you have read why before "
        "approving this one."
    ]
    again.refresh_from_db()
    assert again.status == RefundStatus.REQUESTED

    # Through the page: the rejected refund is shown, with why, and must be ticked.
    client = host_client(ledger)
    assert client.login(email=manager.email, password=PASSWORD)
    page = client.get(f"/refunds/{again.pk}/").content.decode()
    assert "Rejected refunds on this receipt" in page and "Was not overpaid" in page
    response = client.post(f"/refunds/{again.pk}/", {"decision": "approve", "note": "ok"})
    assert response.status_code == 200
    assert "was rejected before" in response.content.decode()
    again.refresh_from_db()
    assert again.status == RefundStatus.REQUESTED

    response = client.post(
        f"/refunds/{again.pk}/",
        {"decision": "approve", "note": "Read it", "rejected_refunds_seen": [refused.pk]},
    )
    assert response.status_code == 302
    again.refresh_from_db()
    assert again.status == RefundStatus.APPROVED
    event = AuditEvent.objects.get(action="refund.approved")
    assert event.after["rejected_refunds_seen"] == [refused.pk]
