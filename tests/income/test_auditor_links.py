"""An auditor (read-only) is offered only what they may use: every link on every page they can
reach opens, and no page offers them a form that changes something."""

import re
from collections import deque

import pytest

from income.actions.cash_up import submit_cash_up
from income.actions.receipts import Allocation, record_receipt
from income.actions.refunds import approve_refund, raise_refund
from income.actions.suspense import allocate_from_suspense
from income.actions.transfers import transfer_between_funds
from tests.conftest import host_client
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

HREF = re.compile(r'href="(/[^"#]*)"')
# Signing out ends the crawl's session; downloads are files, not pages.
NOT_FOLLOWED = ("/accounts/logout/", "?download=", "?format=csv", "/file/", ".csv")


@pytest.fixture
def some_of_everything(council_a, cash, council_tax, parking, officer, manager):
    split = record_receipt(
        channel=cash, amount_pence=3_000, received_on=_today(),
        allocations=[Allocation(council_tax, 2_000), Allocation(None, 1_000)],
        idempotency_key="auditor-1", acting_user=officer,
    ).receipt  # fmt: skip
    allocate_from_suspense(
        council=council_a, receipt=split, allocations=[Allocation(parking, 400)],
        note="Parking fine", acting_user=officer,
    )  # fmt: skip
    transfer_between_funds(
        council=council_a, receipt=split, from_fund=council_tax, to_fund=parking,
        amount_pence=100, note="Wrong fund", acting_user=officer,
    )  # fmt: skip
    refund = raise_refund(
        council=council_a, receipt=split, fund=council_tax, amount_pence=50,
        reason="Overpaid", acting_user=officer,
    )  # fmt: skip
    approve_refund(council=council_a, refund=refund, acting_user=manager)
    submit_cash_up(
        council=council_a, business_date=_today(), denominations={}, cheques=[], note="Nil",
        acting_user=officer,
    )  # fmt: skip
    return split


def _today():
    from django.utils import timezone

    return timezone.localdate()


def test_an_auditor_sees_no_transfer_or_refund_links_and_every_link_opens(
    council_a, auditor, some_of_everything
):
    client = host_client(council_a)
    client.login(email=auditor.email, password=PASSWORD)
    receipt_page = client.get(f"/receipts/{some_of_everything.number}/").content.decode()
    assert ">Transfer between funds</a>" not in receipt_page
    assert ">Raise a refund</a>" not in receipt_page
    assert "/reverse/" not in receipt_page

    seen, queue, refused, posting = set(), deque(["/"]), [], []
    while queue and len(seen) < 120:
        path = queue.popleft()
        if path in seen or any(part in path for part in NOT_FOLLOWED):
            continue
        seen.add(path)
        response = client.get(path)
        if response.status_code == 403:
            refused.append(path)
            continue
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        text = response.content.decode()
        if 'method="post"' in text:
            posting.append(path)
        queue.extend(link.replace("&amp;", "&") for link in HREF.findall(text))

    assert f"/receipts/{some_of_everything.number}/" in seen
    assert refused == []
    assert posting == []
