"""Property-based: random sequences of the work that once put money under the wrong
reference, counted a file's line twice or lost money from sight, and the invariants that say
it cannot happen now, checked after every step.

Steps: split counter payments (each line with its own reference), imports of allpay files that
overlap earlier ones (the same lines again, saved with other line endings, some lines twice in
one file, money out that matches a receipt or nothing), debits taking money back from a split
payment, splits out of suspense (each line with its own reference), reversals of receipts and
of imports and imports of the same file again, and several cash-ups a day.

Invariants: every journal balances; every posting's reference is the one its line was taken
with; no line of a receipt holds less than nothing, and a reversed receipt holds nothing; the
fund, clearing, suspense and unexplained-debit totals each equal the sum of their items; no
line of any file is counted twice unless it occurs twice in its file; nothing accepted is ever
dropped (each line of each file is a receipt, money taken back, a possible duplicate or a
rejected line).
"""

import datetime
import itertools
from collections import Counter, defaultdict

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.db.models import Sum
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from income.accounts import clearing_account, fund_account
from income.actions.cash_up import authorise_cash_up, submit_cash_up
from income.actions.imports import reverse_import, upload_import
from income.actions.receipts import Allocation, record_receipt, reverse_receipt
from income.actions.suspense import allocate_from_suspense
from income.balances import account_balance, receipt_allocation_lines
from income.formats import allpay
from income.imports.pipeline import run_import
from income.models import (
    AccountKind,
    CashUpReceipt,
    Channel,
    ImportAdjustment,
    ImportBatch,
    ImportStatus,
    PossibleDuplicate,
    Posting,
    Receipt,
    ReceiptStatus,
    ReferenceRule,
)
from income.suspense_worklist import suspense_items, suspense_total
from income.unexplained_debits import open_debits_total, unexplained_debits_balance
from tests.factories import FundFactory

DAY = datetime.date(2026, 11, 20)
_keys = itertools.count()

# A small pool of allpay lines, so that files overlap often: Parking notices (which pass the
# Parking rule), references no rule takes (suspense), and money out.
POOL = [
    ("PCN000001", 1_000),
    ("PCN000002", 2_550),
    ("PCN000003", 700),
    ("NOSUCHREF", 1_234),
    ("PCN000001", -300),  # takes back from the receipt of PCN000001, if there is one
    ("UNKNOWNDR", -450),  # matches no receipt: an unexplained debit
]
pool_lines = st.lists(st.integers(0, len(POOL) - 1), min_size=1, max_size=6)


def allpay_text(indexes: list[int], ending: str) -> bytes:
    lines = [
        allpay.write_line(reference=POOL[i][0], amount_pence=POOL[i][1], letter="P", date=DAY)
        for i in indexes
    ]
    total = sum(POOL[i][1] for i in indexes)
    body = lines + allpay.write_trailer(total_pence=total, count=len(lines))
    return (ending.join(body) + ending).encode("latin-1")


class MoneyMachine(RuleBasedStateMachine):
    imports = Bundle("imports")
    receipts = Bundle("receipts")

    def __init__(self) -> None:
        super().__init__()
        self.savepoint = transaction.savepoint()
        rule = ReferenceRule.objects.create(name="Parking", pattern=r"PCN\d{6}")
        self.parking = FundFactory(code="PARK", name="Parking", reference_rule=rule)
        self.council_tax = FundFactory(code="CTAX", name="Council Tax")
        self.cash = Channel.objects.get(code="CASH")
        self.cheque = Channel.objects.get(code="CHEQUE")
        # The references money was placed in a fund with: (receipt id, fund id) → references.
        self.taken_references: dict[tuple[int, int], set[str]] = defaultdict(set)
        # Each file imported and standing (not reversed): its lines' pool indexes.
        self.standing_files: dict[int, list[int]] = {}

    def teardown(self) -> None:
        transaction.savepoint_rollback(self.savepoint)

    # --- steps ---------------------------------------------------------------------------

    @rule(
        target=receipts,
        parts=st.lists(
            st.tuples(st.sampled_from(["CTAX", "PARK", "SUSPENSE"]), st.integers(1, 50_000)),
            min_size=1,
            max_size=3,
            unique_by=lambda part: part[0],
        ),
        by_cheque=st.booleans(),
    )
    def take_a_split_payment(self, parts, by_cheque):
        n = next(_keys)
        funds = {"CTAX": self.council_tax, "PARK": self.parking, "SUSPENSE": None}
        references = {"CTAX": f"5{n:07d}", "PARK": f"PCN{900_000 + n:06d}", "SUSPENSE": f"Q{n}"}
        allocations = [Allocation(funds[code], pence, references[code]) for code, pence in parts]
        receipt = record_receipt(
            channel=self.cheque if by_cheque else self.cash,
            amount_pence=sum(pence for _, pence in parts),
            received_on=DAY,
            allocations=allocations,
            idempotency_key=f"counter:{n}",
            acting_user=self.officer,
            payer_reference=allocations[0].reference,
        ).receipt
        # Each line's postings carry its own reference, not the first line's.
        held = receipt_allocation_lines(receipt)
        for allocation in allocations:
            fund_id = allocation.fund.pk if allocation.fund else None
            assert [line.reference for line in held if line.fund_id == fund_id] == [
                allocation.reference
            ]
            if fund_id is not None:
                self.taken_references[(receipt.pk, fund_id)].add(allocation.reference)
        return receipt

    @rule(target=imports, indexes=pool_lines, ending=st.sampled_from(["\r\n", "\n"]))
    def import_a_file(self, indexes, ending):
        try:
            batch = upload_import(
                council=self.council,
                uploaded_file=SimpleUploadedFile(
                    f"f{next(_keys)}.txt", allpay_text(indexes, ending)
                ),
                format_name="allpay",
                acting_user=self.officer,
                default_date=DAY,
            )
        except ValidationError as refusal:
            # The same file (whatever its line endings) while an import of it stands.
            assert "already imported" in refusal.messages[0]
            return None
        batch = run_import(batch.pk)
        assert batch.status == ImportStatus.COMPLETED, batch.message
        self.standing_files[batch.pk] = indexes
        return batch

    @rule(batch=imports)
    def reverse_an_import(self, batch):
        if batch is None or batch.pk not in self.standing_files:
            return
        try:
            reverse_import(
                council=self.council, batch=batch, reason="Wrong rule", acting_user=self.officer
            )
        except ValidationError:
            return  # e.g. a later file's debit took money back from one of its receipts
        del self.standing_files[batch.pk]

    @rule(receipt=receipts, share=st.floats(0.1, 1.0))
    def split_suspense_across_two_funds(self, receipt, share):
        waiting = sum(
            pence for line, pence in receipt_allocation_lines(receipt).items() if not line.fund_id
        )
        if waiting < 2:
            return
        first = max(1, int(waiting * share) - 1)
        n = next(_keys)
        allocations = [
            Allocation(self.council_tax, first, f"7{n:07d}"),
            Allocation(self.parking, waiting - first, f"PCN{800_000 + n:06d}"),
        ]
        allocate_from_suspense(
            council=self.council,
            receipt=receipt,
            allocations=allocations,
            note="Split by hand",
            acting_user=self.officer,
        )
        self.taken_references[(receipt.pk, self.council_tax.pk)].add(allocations[0].reference)
        self.taken_references[(receipt.pk, self.parking.pk)].add(allocations[1].reference)

    @rule(receipt=receipts, share=st.floats(0.05, 1.0))
    def a_debit_takes_money_back_from_a_receipt(self, receipt, share):
        # A cheque returned unpaid, in a file under the receipt's payer reference: it takes
        # back from whichever of the receipt's lines hold money, each under its own reference.
        # (Cash in the till is not taken back by the bank.)
        receipt.refresh_from_db()
        held = sum(receipt_allocation_lines(receipt).values())
        if receipt.channel_id != self.cheque.pk or receipt.status != ReceiptStatus.ACTIVE:
            return
        if held <= 0:
            return
        pence = max(1, int(held * share))
        line = allpay.write_line(
            reference=receipt.payer_reference, amount_pence=-pence, letter="P", date=DAY
        )
        body = [line, *allpay.write_trailer(total_pence=-pence, count=1)]
        try:
            batch = upload_import(
                council=self.council,
                uploaded_file=SimpleUploadedFile(
                    f"d{next(_keys)}.txt", ("\r\n".join(body) + "\r\n").encode("latin-1")
                ),
                format_name="allpay",
                acting_user=self.officer,
                default_date=DAY,
            )
        except ValidationError:
            return  # the same debit file again
        assert run_import(batch.pk).status == ImportStatus.COMPLETED

    @rule(receipt=receipts)
    def reverse_a_receipt(self, receipt):
        try:
            reverse_receipt(
                council=self.council, receipt=receipt, reason="Bounced", acting_user=self.manager
            )
        except ValidationError:
            return  # already reversed, or a debit took all of it back

    @rule()
    def cash_up(self):
        uncovered = Receipt.objects.filter(status=ReceiptStatus.ACTIVE, cash_up_cover__isnull=True)
        waiting = uncovered.filter(channel=self.cash).aggregate(total=Sum("amount_pence"))["total"]
        cheques = uncovered.filter(channel=self.cheque).aggregate(total=Sum("amount_pence"))
        if not waiting and not cheques["total"]:
            return
        counted = submit_cash_up(
            council=self.council,
            business_date=DAY,
            denominations={1: waiting or 0},  # all of it in pennies: the count matches
            cheques=[{"amount_pence": cheques["total"]}] if cheques["total"] else [],
            note="",
            acting_user=self.officer,
        )
        authorise_cash_up(council=self.council, cash_up=counted, acting_user=self.manager)

    # --- invariants ----------------------------------------------------------------------

    @invariant()
    def every_journal_balances(self):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM (SELECT journal_id FROM income_posting "
                "GROUP BY journal_id HAVING sum(amount_pence) <> 0) unbalanced"
            )
            assert cursor.fetchone()[0] == 0

    @invariant()
    def every_line_keeps_the_reference_it_was_taken_with(self):
        for (receipt_id, fund_id), references in self.taken_references.items():
            receipt = Receipt.objects.get(pk=receipt_id)
            held = {
                line.reference
                for line, pence in receipt_allocation_lines(receipt).items()
                if line.fund_id == fund_id and pence
            }
            assert held <= references, (receipt.number, held, references)

    @invariant()
    def no_line_of_a_receipt_holds_less_than_nothing(self):
        # A debit or reversal that took money from one line under another line's reference
        # would leave one line negative and another overstated, though the fund's total agrees.
        for receipt in Receipt.objects.all():
            lines = receipt_allocation_lines(receipt)
            assert all(pence > 0 for pence in lines.values()), (receipt.number, lines)
            if receipt.status == ReceiptStatus.REVERSED:
                assert not lines, (receipt.number, lines)

    @invariant()
    def each_total_is_the_sum_of_its_items(self):
        items = suspense_items(today=DAY, limit=100_000)
        assert suspense_total() == sum(item.in_suspense_pence for item in items)
        assert unexplained_debits_balance() == open_debits_total().pence
        for fund in (self.council_tax, self.parking):
            held = sum(
                pence
                for receipt in Receipt.objects.all()
                for line, pence in receipt_allocation_lines(receipt).items()
                if line.fund_id == fund.pk
            )
            assert -account_balance(fund_account(fund)) == held
        # The till's clearing holds exactly the cash no cash-up has banked yet.
        uncovered = Receipt.objects.filter(
            channel=self.cash, status=ReceiptStatus.ACTIVE, cash_up_cover__isnull=True
        ).aggregate(total=Sum("amount_pence"))["total"]
        assert account_balance(clearing_account(self.cash)) == (uncovered or 0)
        assert CashUpReceipt.objects.values("receipt").distinct().count() == (
            CashUpReceipt.objects.count()
        )

    @invariant()
    def no_line_of_any_file_counts_twice(self):
        # For each pool line, receipts (or money taken back) from standing imports: at most as
        # many as the most times it occurs in any one standing file.
        most = Counter()
        for indexes in self.standing_files.values():
            for index, times in Counter(indexes).items():
                most[index] = max(most[index], times)
        counted = Counter()
        for receipt in Receipt.objects.filter(
            import_batch_id__in=list(self.standing_files), status=ReceiptStatus.ACTIVE
        ):
            counted[(receipt.payer_reference, receipt.amount_pence)] += 1
        for adjustment in ImportAdjustment.objects.filter(batch_id__in=list(self.standing_files)):
            counted[(adjustment.reference, -adjustment.amount_pence)] += 1
        by_line = defaultdict(int)
        for index, (reference, pence) in enumerate(POOL):
            by_line[(reference, pence)] = max(by_line[(reference, pence)], most[index])
        for line, times in counted.items():
            assert times <= by_line[line], line

    @invariant()
    def nothing_accepted_is_dropped(self):
        for batch in ImportBatch.objects.filter(pk__in=list(self.standing_files)):
            accounted = (
                Receipt.objects.filter(import_batch=batch).count()
                + ImportAdjustment.objects.filter(batch=batch).count()
                + PossibleDuplicate.objects.filter(batch=batch).count()
                + batch.rejected.count()
            )
            assert accounted == len(self.standing_files[batch.pk]), batch.pk
        assert not Posting.objects.filter(account__kind=AccountKind.SUSPENSE, receipt=None).exists()


@pytest.fixture
def money_machine(ledger, council_a, officer, manager, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    MoneyMachine.council = council_a
    MoneyMachine.officer = officer
    MoneyMachine.manager = manager
    return MoneyMachine


def test_money_keeps_its_reference_is_counted_once_and_never_drops_out_of_sight(money_machine):
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(
        money_machine,
        settings=settings(
            max_examples=15,
            stateful_step_count=10,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
