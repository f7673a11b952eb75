"""Whatever an allpay file holds, an import keeps the ledger's invariants: every journal
balances, every receipt is fully allocated, the summary agrees with the ledger to the penny,
every line is exactly one of a receipt, money taken back or a rejected line, and suspense and
the unexplained debits account each equal the sum of their items."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from income.actions.imports import upload_import
from income.formats import allpay
from income.imports.pipeline import run_import
from income.models import (
    ImportAdjustment,
    ImportBatch,
    Posting,
    Receipt,
    ReferenceRule,
    UnexplainedDebit,
)
from income.suspense_worklist import suspense_items, suspense_total
from income.unexplained_debits import unexplained_debits_balance
from tests.factories import FundFactory

DAY = datetime.date(2026, 11, 20)

lines = st.lists(
    st.one_of(
        st.builds(
            lambda n, pence, letter: allpay.write_line(
                reference=f"PCN{n:06d}", amount_pence=pence, letter=letter, date=DAY
            ),
            st.integers(0, 999_999),
            st.integers(1, 99_999_99),
            st.sampled_from("PTZNBCQ"),
        ),
        st.builds(
            lambda ref, pence: allpay.write_line(
                reference=ref, amount_pence=pence, letter="P", date=DAY
            ),
            st.text(alphabet="ABCXYZ0123456789", min_size=0, max_size=12),
            st.integers(1, 500_00),
        ),
        st.text(alphabet="0123456789/. ABCPQ", min_size=2, max_size=60),
    ),
    min_size=1,
    max_size=25,
)


@pytest.fixture
def parking(ledger, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    rule = ReferenceRule.objects.create(name="Parking", pattern=r"PCN\d{6}")
    return FundFactory(
        code="PARK", name="Parking Fines", reference_rule=rule, max_amount_pence=50_000
    )


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=lines, trailer=st.booleans())
def test_an_import_keeps_the_ledgers_invariants(council_a, parking, body, trailer):
    content_lines = list(body)
    if trailer:
        content_lines += allpay.write_trailer(total_pence=0, count=len(body))
    content = ("\r\n".join(content_lines) + "\r\n").encode()
    with transaction.atomic():
        batch = upload_import(
            council=council_a,
            uploaded_file=SimpleUploadedFile("f.txt", content),
            format_name="allpay",
            acting_user=None,
        )
        batch = run_import(batch.pk)
        if batch.status == "held":
            # A damaged file (its trailer disagrees, or is missing) posts nothing until it is
            # imported anyway; then it keeps the invariants like any other.
            assert batch.problems
            assert not Receipt.objects.filter(import_batch=batch).exists()
            assert not batch.rejected.exists() and not batch.adjustments.exists()
            ImportBatch.objects.filter(pk=batch.pk).update(import_anyway=True, status="queued")
            batch = run_import(batch.pk)
        if batch.status != "completed":
            assert batch.status == "refused" and batch.message
            transaction.set_rollback(True)
            return
        receipts = Receipt.objects.filter(import_batch=batch)
        postings = Posting.objects.filter(receipt__in=receipts)
        # Every receipt's journal balances and holds all of the receipt's money.
        for receipt in receipts:
            # (A debit of the same file may take some back, in a journal of its own.)
            own = postings.filter(receipt=receipt, journal_id=receipt.journal_id)
            assert own.aggregate(t=Sum("amount_pence"))["t"] == 0
            assert -own.filter(amount_pence__lt=0).aggregate(t=Sum("amount_pence"))["t"] == (
                receipt.amount_pence
            )
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM (SELECT journal_id FROM income_posting "
                "GROUP BY journal_id HAVING sum(amount_pence) <> 0) AS unbalanced"
            )
            assert cursor.fetchone()[0] == 0
        created = receipts.aggregate(t=Sum("amount_pence"))["t"] or 0
        assert created == batch.receipts_pence
        assert sum(t["pence"] for t in batch.fund_totals) + batch.suspense_pence == created
        taken_back = ImportAdjustment.objects.filter(batch=batch)
        assert (taken_back.aggregate(t=Sum("amount_pence"))["t"] or 0) == batch.adjustments_pence
        numbers = [r.import_line_number for r in receipts]
        numbers += list(taken_back.values_list("line_number", flat=True))
        numbers += list(batch.rejected.values_list("line_number", flat=True))
        assert len(numbers) == len(set(numbers)) == batch.lines_read
        # Each worklist's header, read from the ledger, is the sum of its items: money going
        # out never shrinks suspense, and every unexplained debit is on the worklist.
        assert suspense_total() == sum(
            item.in_suspense_pence for item in suspense_items(today=DAY, limit=1_000)
        )
        unexplained = UnexplainedDebit.objects.filter(batch=batch)
        assert unexplained_debits_balance() == (
            unexplained.aggregate(t=Sum("amount_pence"))["t"] or 0
        )
        assert unexplained.count() == batch.unexplained_debits_count
        assert taken_back.filter(unexplained=True).count() == batch.unexplained_debits_count
        transaction.set_rollback(True)
