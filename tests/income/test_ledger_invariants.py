"""Property-based: random sequences of ledger work never break the ledger's invariants.

The state machine keeps its own shadow of where every penny should be; after every step the
ledger must agree with it, and with its own rules (balanced journals, receipts fully allocated,
refunds never above what was paid, reversals mirroring what they reverse).
"""

import datetime
import itertools

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)

from income.accounts import fund_account, refunds_payable_account, suspense_account
from income.actions.receipts import Allocation, record_receipt, reverse_receipt
from income.actions.refunds import approve_refund, raise_refund
from income.actions.suspense import allocate_from_suspense
from income.actions.transfers import reverse_transfer, transfer_between_funds
from income.balances import account_balance, receipt_allocation
from income.models import Channel, Journal, Receipt, ReceiptStatus
from tests.factories import FundFactory

TODAY = datetime.date(2026, 11, 24)
amounts = st.integers(min_value=1, max_value=500_000)
_keys = itertools.count()


class LedgerMachine(RuleBasedStateMachine):
    receipts = Bundle("receipts")
    transfers = Bundle("transfers")

    def __init__(self) -> None:
        super().__init__()
        # Each example runs in a savepoint of the test's transaction, rolled back at teardown.
        self.savepoint = transaction.savepoint()
        self.funds = [FundFactory(), FundFactory(), FundFactory()]
        self.channel = Channel.objects.get(code="CASH")
        # The shadow: receipt id → {fund id or None: pence held}; and pence refunded.
        self.expected: dict[int, dict[int | None, int]] = {}
        self.refunded: dict[int, int] = {}

    def teardown(self) -> None:
        transaction.savepoint_rollback(self.savepoint)

    @rule(
        target=receipts,
        parts=st.lists(st.tuples(st.integers(0, 3), amounts), min_size=1, max_size=4),
    )
    def take_a_payment(self, parts):
        allocations = [
            Allocation(self.funds[index] if index < 3 else None, pence) for index, pence in parts
        ]
        key = f"machine:{next(_keys)}"
        total = sum(pence for _, pence in parts)
        receipt = record_receipt(
            channel=self.channel,
            amount_pence=total,
            received_on=TODAY,
            allocations=allocations,
            idempotency_key=key,
            acting_user=self.officer,
        ).receipt
        held: dict[int | None, int] = {}
        for allocation in allocations:
            fund_id = allocation.fund.pk if allocation.fund else None
            held[fund_id] = held.get(fund_id, 0) + allocation.amount_pence
        self.expected[receipt.pk] = held
        self.refunded[receipt.pk] = 0
        # The same key again: nothing changes.
        again = record_receipt(
            channel=self.channel,
            amount_pence=total,
            received_on=TODAY,
            allocations=allocations,
            idempotency_key=key,
            acting_user=self.officer,
        )
        assert not again.created and again.receipt == receipt
        return receipt

    @rule(receipt=receipts, fund_index=st.integers(0, 2), share=st.floats(0.01, 1.0))
    def allocate_suspense(self, receipt, fund_index, share):
        in_suspense = self.expected[receipt.pk].get(None, 0)
        amount = max(1, int(in_suspense * share))
        fund = self.funds[fund_index]
        try:
            allocate_from_suspense(
                council=self.council,
                receipt=receipt,
                allocations=[Allocation(fund, amount)],
                note="matched by hand",
                acting_user=self.officer,
            )
        except ValidationError:
            assert amount > in_suspense or self.reversed(receipt)
            return
        self.move(receipt, None, fund.pk, amount)

    @rule(
        target=transfers,
        receipt=receipts,
        a=st.integers(0, 2),
        b=st.integers(0, 2),
        share=st.floats(0.01, 1.0),
    )
    def transfer(self, receipt, a, b, share):
        source, target = self.funds[a], self.funds[b]
        held = self.expected[receipt.pk].get(source.pk, 0)
        amount = max(1, int(held * share))
        try:
            journal = transfer_between_funds(
                council=self.council,
                receipt=receipt,
                from_fund=source,
                to_fund=target,
                amount_pence=amount,
                note="wrong fund",
                acting_user=self.officer,
            )
        except ValidationError:
            assert a == b or amount > held
            return None
        self.move(receipt, source.pk, target.pk, amount)
        return (journal, receipt, source.pk, target.pk, amount)

    @rule(transfer=transfers)
    def reverse_a_transfer(self, transfer):
        if transfer is None:
            return
        journal, receipt, source_id, target_id, amount = transfer
        try:
            reverse_transfer(
                council=self.council, journal=journal, reason="undo", acting_user=self.officer
            )
        except ValidationError:
            # Already reversed, or the money has moved on since.
            assert (
                Journal.objects.filter(reverses=journal).exists()
                or self.expected[receipt.pk].get(target_id, 0) < amount
            )
            return
        self.move(receipt, target_id, source_id, amount)

    @rule(receipt=receipts, slot=st.integers(0, 3), share=st.floats(0.01, 1.5))
    def refund(self, receipt, slot, share):
        fund = self.funds[slot] if slot < 3 else None
        fund_id = fund.pk if fund else None
        held = self.expected[receipt.pk].get(fund_id, 0)
        amount = max(1, int(held * share))
        try:
            refund = raise_refund(
                council=self.council,
                receipt=receipt,
                fund=fund,
                amount_pence=amount,
                reason="overpaid",
                acting_user=self.officer,
            )
            approve_refund(council=self.council, refund=refund, acting_user=self.admin)
        except (ValidationError, PermissionDenied):
            assert amount > held or self.reversed(receipt)
            return
        self.expected[receipt.pk][fund_id] -= amount
        self.refunded[receipt.pk] += amount

    @rule(receipt=receipts)
    def reverse_a_receipt(self, receipt):
        try:
            reverse_receipt(
                council=self.council, receipt=receipt, reason="bounced", acting_user=self.officer
            )
        except ValidationError:
            assert self.reversed(receipt) or self.refunded[receipt.pk] or receipt.refunds.exists()
            return
        self.expected[receipt.pk] = {}

    def move(self, receipt, from_id, to_id, amount):
        held = self.expected[receipt.pk]
        held[from_id] -= amount
        held[to_id] = held.get(to_id, 0) + amount

    def reversed(self, receipt) -> bool:
        return Receipt.objects.get(pk=receipt.pk).status == ReceiptStatus.REVERSED

    @invariant()
    def every_journal_sums_to_zero(self):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM (SELECT journal_id FROM income_posting "
                "GROUP BY journal_id HAVING sum(amount_pence) <> 0) unbalanced"
            )
            assert cursor.fetchone()[0] == 0

    @invariant()
    def every_receipt_is_where_the_shadow_says(self):
        for receipt_id, held in self.expected.items():
            receipt = Receipt.objects.get(pk=receipt_id)
            actual = receipt_allocation(receipt)
            assert actual == {k: v for k, v in held.items() if v}
            # Fully allocated: what it holds plus what was refunded is what was paid.
            if receipt.status == ReceiptStatus.ACTIVE:
                assert sum(actual.values()) + self.refunded[receipt_id] == receipt.amount_pence
            assert self.refunded[receipt_id] <= receipt.amount_pence

    @invariant()
    def fund_income_is_the_sum_of_its_allocations(self):
        for fund in self.funds:
            expected = sum(held.get(fund.pk, 0) for held in self.expected.values())
            assert -account_balance(fund_account(fund)) == expected
        in_suspense = sum(held.get(None, 0) for held in self.expected.values())
        assert -account_balance(suspense_account()) == in_suspense
        assert -account_balance(refunds_payable_account()) == sum(self.refunded.values())

    @invariant()
    def each_reversal_mirrors_what_it_reverses(self):
        for reversal in Journal.objects.filter(reverses__isnull=False):
            original = {
                (p.account_id, p.receipt_id): p.amount_pence
                for p in reversal.reverses.postings.all()
            }
            if reversal.reverses.kind == "receipt":
                continue  # a receipt's reversal empties where the money sits *now*
            mirrored = {
                (p.account_id, p.receipt_id): -p.amount_pence for p in reversal.postings.all()
            }
            assert mirrored == original


@pytest.fixture
def ledger_machine(ledger, council_a, officer, manager):
    from tenants.models import CouncilRole
    from tests.conftest import make_member

    LedgerMachine.council = council_a
    LedgerMachine.officer = officer
    LedgerMachine.admin = make_member(council_a, CouncilRole.ADMIN)
    return LedgerMachine


def test_the_ledger_keeps_its_invariants_through_random_work(ledger_machine):
    run_state_machine_as_test(
        ledger_machine,
        settings=settings(
            max_examples=25,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
