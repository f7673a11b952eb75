"""Importing payment files end to end (upload → store → task body → ledger), run in-process:
what lands where, every line accounted for, all or nothing, never twice, reversible."""

import datetime
from collections import defaultdict
from itertools import pairwise

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile
from django.db import connection
from django.db.models import Sum

from income.accounts import clearing_account, fund_account, suspense_account
from income.actions.imports import reverse_import, save_import_rule, upload_import
from income.actions.receipts import reverse_receipt
from income.balances import account_balance
from income.formats import allpay
from income.imports.pipeline import run_import
from income.imports.storage import import_files
from income.models import (
    Channel,
    ImportBatch,
    ImportRule,
    ImportStatus,
    Journal,
    Posting,
    Receipt,
    ReferenceRule,
)
from income.receipt_history import receipt_journals
from income.reference_rules import expected_check_character
from income.reference_rules.check_digits import CheckDigitScheme, Method
from tests.factories import FundFactory

DAY = datetime.date(2026, 11, 20)
LUHN = CheckDigitScheme(Method.LUHN)


def luhn(body: str) -> str:
    return body + expected_check_character(LUHN, body)


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def funds(ledger):
    council_tax_rule = ReferenceRule.objects.create(
        name="Council Tax", input_mask="########", check_digit_method="luhn"
    )
    parking_rule = ReferenceRule.objects.create(name="Parking", pattern=r"PCN\d{6}")
    return {
        "CTAX": FundFactory(code="CTAX", name="Council Tax", reference_rule=council_tax_rule),
        "PARK": FundFactory(code="PARK", name="Parking Fines", reference_rule=parking_rule),
        "RENT": FundFactory(code="RENT", name="Housing Rents"),
    }


def allpay_file(lines: list[str], *, total: int, count: int) -> bytes:
    body = lines + allpay.write_trailer(total_pence=total, count=count)
    return ("\r\n".join(body) + "\r\n").encode("latin-1")


def line(reference: str, pence: int, letter: str = "P", narrative: str = "") -> str:
    return allpay.write_line(
        reference=reference, amount_pence=pence, letter=letter, date=DAY, narrative=narrative
    )


def upload(council, content: bytes, *, user, name="allpay.txt", fmt="allpay", **kwargs):
    return upload_import(
        council=council,
        uploaded_file=SimpleUploadedFile(name, content),
        format_name=fmt,
        acting_user=user,
        default_date=DAY,
        **kwargs,
    )


def imported(council, content: bytes, *, user, **kwargs) -> ImportBatch:
    batch = upload(council, content, user=user, **kwargs)
    return run_import(batch.pk)


def test_an_allpay_file_lands_in_its_funds_suspense_and_rejected_lines(council_a, funds, officer):
    ct1, ct2 = luhn("5000000"), luhn("5000001")
    content = allpay_file(
        [
            line(ct1, 12_345),
            line("BERN" + ct2, 5_000, "T"),
            line("PCN123456", 7_000, "Z"),
            line("UNKNOWN1", 2_500, "N"),
            line(ct1[:-1] + str((int(ct1[-1]) + 1) % 10), 1_000, "B"),  # wrong check digit
            line(ct1, 500, "Q"),  # a returned cheque takes money back from Council Tax
            line(ct1, 99_999)[:40],  # wrong length
            line("PCN999999", 100)[:23] + "    1x.00P20/11/2026",  # not an amount
        ],
        total=12_345 + 5_000 + 7_000 + 2_500 + 1_000 - 500 + 99_999,  # line 7's is readable
        count=8,
    )

    batch = imported(council_a, content, user=officer)

    assert batch.status == ImportStatus.COMPLETED, batch.message
    assert batch.lines_read == 8
    assert (batch.receipts_created, batch.receipts_pence) == (5, 27_845)
    assert (batch.adjustments_count, batch.adjustments_pence) == (1, 500)
    assert (batch.suspense_count, batch.suspense_pence) == (2, 3_500)
    assert batch.rejected_count == 2
    assert batch.lines_accounted == batch.lines_read
    assert batch.fund_totals == [
        {"code": "CTAX", "name": "Council Tax", "count": 2, "pence": 17_345},
        {"code": "PARK", "name": "Parking Fines", "count": 1, "pence": 7_000},
    ]
    assert account_balance(fund_account(funds["CTAX"])) == -17_345 + 500
    assert account_balance(fund_account(funds["PARK"])) == -7_000
    assert account_balance(suspense_account()) == -3_500
    po = Channel.objects.get(code="ALLPAY-PO")
    assert account_balance(clearing_account(po)) == 12_345
    assert account_balance(clearing_account(Channel.objects.get(code="ALLPAY-RQ"))) == -500
    receipts = list(Receipt.objects.filter(import_batch=batch).order_by("import_line_number"))
    assert [r.import_line_number for r in receipts] == [1, 2, 3, 4, 5]
    # Written and numbered in the order of their keys (income.imports.ledger_writing), all
    # in the one journal of their chunk, which balances.
    by_key = sorted(receipts, key=lambda r: r.idempotency_key)
    assert [r.id for r in by_key] == sorted(r.id for r in receipts)
    assert [int(r.number[1:]) for r in by_key] == sorted(int(r.number[1:]) for r in receipts)
    assert len({r.journal_id for r in receipts}) == 1
    assert [r.idempotency_key.split(":")[:3] for r in receipts] == [
        ["file", code, "2026-11-20"]
        for code in ("ALLPAY-PO", "ALLPAY-PP", "ALLPAY-PZ", "ALLPAY-IVR", "ALLPAY-BO")
    ]
    assert receipts[1].payer_reference == ct2
    assert receipts[1].channel.code == "ALLPAY-PP"
    assert all(r.journal.postings.aggregate(t=Sum("amount_pence"))["t"] == 0 for r in receipts)
    suspended = {s.line_number: s.reason for s in batch.suspended.all()}
    assert suspended == {
        4: "the reference UNKNOWN1 fits no fund's reference rule",
        5: f"the reference {ct1[:-1]}{(int(ct1[-1]) + 1) % 10} fits no fund's reference rule",
    }
    assert [(r.line_number, r.reason) for r in batch.rejected.all()] == [
        (7, "the line is 40 characters long; allpay transaction lines are 43"),
        (8, 'the amount "1x.00" (characters 24-32) is not pounds and pence like 123.45'),
    ]
    # Every journal the import wrote balances, and the file is kept in the council's area.
    with import_files().open(batch.sha256) as stored:
        assert stored.read() == content
    assert import_files().key(batch.sha256) == (
        f"councils/{connection.schema_name}/imports/{batch.sha256}"
    )


def test_the_same_file_twice_is_refused_saying_when_it_was_first_imported(
    council_a, funds, officer
):
    content = allpay_file([line(luhn("5000000"), 1_000)], total=1_000, count=1)
    first = imported(council_a, content, user=officer, name="monday.txt")
    receipts = Receipt.objects.count()

    with pytest.raises(ValidationError) as refusal:
        upload(council_a, content, user=officer, name="monday-again.txt")

    assert "This file was already imported on" in refusal.value.messages[0]
    assert f"as import {first.pk} (monday.txt)" in refusal.value.messages[0]
    assert Receipt.objects.count() == receipts
    # Running the finished batch's task again changes nothing either.
    assert run_import(first.pk).receipts_created == 1
    assert Receipt.objects.count() == receipts


def test_a_file_of_another_format_is_refused_whole_and_may_then_be_imported_properly(
    council_a, funds, officer
):
    content = allpay_file([line(luhn("5000000"), 1_000)], total=1_000, count=1)
    refused = imported(council_a, content, user=officer, fmt="bacs18")
    assert refused.status == ImportStatus.REFUSED
    assert refused.message == (
        "This looks like a file of another format (allpay transaction file (fixed width)), "
        "not BACS Standard 18 (100-character records). Choose that format and upload it again."
    )
    assert not Receipt.objects.filter(import_batch=refused).exists()

    again = imported(council_a, content, user=officer)
    assert again.status == ImportStatus.COMPLETED
    assert again.receipts_created == 1


def test_an_empty_or_oversized_file_is_refused_with_a_clear_message(council_a, funds, officer):
    with pytest.raises(ValidationError, match="The file is empty: there is nothing to import"):
        upload(council_a, b"", user=officer)
    big = TemporaryUploadedFile("huge.txt", "text/plain", 0, None)
    big.truncate(200 * 1024 * 1024)  # sparse: no 200 MB written
    big.size = 200 * 1024 * 1024
    with pytest.raises(ValidationError) as refusal:
        upload_import(
            council=council_a, uploaded_file=big, format_name="allpay", acting_user=officer
        )
    big.close()
    assert refusal.value.messages == [
        "The file is 200.0 MB; the largest file Counterfoil imports is 150.0 MB. Ask the "
        "sender to split it, and import each part."
    ]
    assert not ImportBatch.objects.exists()


def test_a_failure_part_way_leaves_nothing_and_the_import_can_run_again(
    council_a, funds, officer, cash
):
    content = allpay_file(
        [line(luhn("5000000"), 1_000), line(luhn("5000001"), 2_000)], total=3_000, count=2
    )
    batch = upload(council_a, content, user=officer)
    # Something already holds the receipt number line 2 will be given: the import fails at
    # its last step.
    from income.actions.receipts import Allocation, record_receipt

    blocker = record_receipt(
        channel=cash,
        amount_pence=1,
        received_on=DAY,
        allocations=[Allocation(None, 1)],
        idempotency_key="counter:blocker",
        acting_user=None,
    ).receipt
    Receipt.objects.filter(pk=blocker.pk).update(number=f"R{int(blocker.number[1:]) + 2}")
    journals, postings = Journal.objects.count(), Posting.objects.count()

    with pytest.raises(Exception, match="receipt_numbers_are_unique"):
        run_import(batch.pk)

    batch.refresh_from_db()
    assert batch.status == ImportStatus.FAILED
    assert batch.message.startswith("The import stopped before it finished, so nothing")
    assert (Journal.objects.count(), Posting.objects.count()) == (journals, postings)
    assert not Receipt.objects.filter(import_batch=batch).exists()
    assert not batch.rejected.exists() and not batch.suspended.exists()
    assert account_balance(fund_account(funds["CTAX"])) == 0
    assert blocker.pk


def test_import_rules_run_first_and_can_set_fund_reference_or_channel(council_a, funds, manager):
    rent = funds["RENT"]
    save_import_rule(
        council=council_a,
        rule=ImportRule(
            name="Rents by narrative",
            position=1,
            conditions=[{"field": "narrative", "operator": "starts_with", "value": "rent"}],
            set_fund=rent,
        ),
        acting_user=manager,
    )
    save_import_rule(
        council=council_a,
        rule=ImportRule(
            name="Old parking prefix",
            position=2,
            conditions=[
                {"field": "reference", "operator": "matches", "value": "^OLD[0-9]+$"},
                {"field": "amount", "operator": "greater_than", "value": "1000"},
            ],
            set_reference="PCN000001",
        ),
        acting_user=manager,
    )
    content = allpay_file(
        [
            line("ANYTHING", 4_000, narrative="RENTWK1"),
            line("OLD77", 5_000),
            line("OLD78", 500),  # not over £10: the rule does not apply
        ],
        total=9_500,
        count=3,
    )

    batch = imported(council_a, content, user=manager)

    assert {t["code"]: t["pence"] for t in batch.fund_totals} == {"RENT": 4_000, "PARK": 5_000}
    assert Receipt.objects.get(import_batch=batch, import_line_number=2).payer_reference == (
        "PCN000001"
    )
    assert batch.suspense_count == 1


def test_each_funds_own_checks_send_a_line_to_suspense_with_its_reason(council_a, ledger, officer):
    def fund(code: str, **terms):
        rule = ReferenceRule.objects.create(name=code, pattern=rf"{code}\d{{3}}")
        return FundFactory(code=code, name=f"Fund {code}", reference_rule=rule, **terms)

    fund("OFF", is_active=False)
    fund("LATER", active_from=datetime.date(2026, 12, 1))
    fund("ENDED", active_to=datetime.date(2026, 3, 5))
    fund("CASH").channels.set(Channel.objects.exclude(code__startswith="ALLPAY")[:1])
    fund("MIN", min_amount_pence=123_456)
    fund("MAX", max_amount_pence=1_000, overpayment_handling="refuse")
    fund("OVER", max_amount_pence=1_000, overpayment_handling="suspense")
    fund("OK")
    codes = ["OFF", "LATER", "ENDED", "CASH", "MIN", "MAX", "OVER", "OK"]
    content = allpay_file([line(f"{code}001", 1_500) for code in codes], total=12_000, count=8)

    batch = imported(council_a, content, user=officer)

    assert {s.line_number: (s.amount_pence, s.reason) for s in batch.suspended.all()} == {
        1: (1_500, "OFF Fund OFF is disabled"),
        2: (1_500, "LATER takes payments from 1 December 2026"),
        3: (1_500, "ENDED stopped taking payments on 5 March 2026"),
        4: (1_500, "CASH does not take payments by allpay Post Office"),
        5: (1_500, "MIN takes at least £1,234.56"),
        6: (1_500, "MAX takes at most £10.00"),
        7: (500, "more than the fund's maximum: the excess went to suspense"),
    }
    assert batch.fund_totals == [
        {"code": "OK", "name": "Fund OK", "count": 1, "pence": 1_500},
        {"code": "OVER", "name": "Fund OVER", "count": 1, "pence": 1_000},
    ]
    assert (batch.suspense_count, batch.suspense_pence) == (7, 6 * 1_500 + 500)
    assert account_balance(suspense_account()) == -(6 * 1_500 + 500)


def test_import_rules_are_checked_and_need_the_right_role(council_a, funds, officer, manager):
    with pytest.raises(PermissionDenied):
        save_import_rule(
            council=council_a,
            rule=ImportRule(name="x", conditions=[], set_fund=funds["RENT"]),
            acting_user=officer,
        )
    with pytest.raises(ValidationError) as problems:
        save_import_rule(
            council=council_a,
            rule=ImportRule(
                name="bad",
                conditions=[
                    {"field": "amount", "operator": "contains", "value": "1"},
                    {"field": "reference", "operator": "matches", "value": "(["},
                ],
            ),
            acting_user=manager,
        )
    assert problems.value.messages == [
        '"contains" does not apply to the amount.',
        '"([" is not a valid regular expression.',
        "Say what the rule does: set the fund, the reference or the channel.",
    ]


def test_a_whole_import_is_reversed_by_one_journal(council_a, funds, officer):
    content = allpay_file(
        [line(luhn("5000000"), 1_000), line("NOMATCH", 2_000), line(luhn("5000000"), 300, "C")],
        total=2_700,
        count=3,
    )
    batch = imported(council_a, content, user=officer)
    assert account_balance(suspense_account()) == -2_000

    journal = reverse_import(
        council=council_a, batch=batch, reason="sent twice by allpay", acting_user=officer
    )

    batch.refresh_from_db()
    assert batch.status == ImportStatus.REVERSED
    assert batch.reversal_journal == journal
    assert journal.postings.aggregate(t=Sum("amount_pence"))["t"] == 0
    assert account_balance(fund_account(funds["CTAX"])) == 0
    assert account_balance(suspense_account()) == 0
    assert not Receipt.objects.filter(import_batch=batch, status="active").exists()
    with pytest.raises(ValidationError, match="already been reversed"):
        reverse_import(council=council_a, batch=batch, reason="again", acting_user=officer)
    # Reversed, the file may be imported again (a council that fixed a rule, say).
    again = run_import(upload(council_a, content, user=officer).pk)
    assert (again.status, again.receipts_created, again.duplicates_count) == ("completed", 2, 0)


def test_receipts_sharing_their_chunks_journal_are_reversed_one_by_one(council_a, funds, manager):
    content = allpay_file(
        [line(luhn("5000000"), 1_000), line("PCN000002", 2_000), line("NOMATCH", 400)],
        total=3_400,
        count=3,
    )
    batch = imported(council_a, content, user=manager)
    first, second, third = Receipt.objects.filter(import_batch=batch).order_by("import_line_number")
    assert first.journal_id == second.journal_id == third.journal_id

    for receipt in (first, second):
        journal = reverse_receipt(
            council=council_a, receipt=receipt, reason="cheque bounced", acting_user=manager
        )
        # The shared journal is not reversed by either: each reversal is its receipt's own.
        assert journal.reverses_id is None
        assert {p.receipt_id for p in journal.postings.all()} == {receipt.pk}
    assert account_balance(fund_account(funds["CTAX"])) == 0
    assert account_balance(fund_account(funds["PARK"])) == 0
    assert account_balance(suspense_account()) == -400
    with pytest.raises(ValidationError, match="already been reversed"):
        reverse_receipt(council=council_a, receipt=first, reason="again", acting_user=manager)
    # Each receipt's page lists its own postings of the shared journal, not its chunk's.
    journals = {journal.pk: journal for journal in receipt_journals(third)}
    assert [p.receipt_id for p in journals[third.journal_id].postings.all()] == [third.pk] * 2


def test_a_file_of_several_chunks_is_posted_as_one_in_the_files_order(council_a, funds, officer):
    """25,000 lines go through in chunks (10,000 lines, then the rest): receipt numbers
    follow the lines across chunks, and what each chunk took back is one journal."""
    lines, total = [], 0
    for n in range(1, 25_001):
        if n % 5_000 == 0:  # money taken back from a receipt of the file, in each chunk
            paid = n - 1 if (n - 1) % 3 else n - 2
            text, pence = line(luhn(f"5{paid:06d}"), 100, "C"), -100
        elif n % 1_000 == 0:  # an unreadable line, in each chunk
            text, pence = line("PCN123456", 100)[:23] + "    1x.00P20/11/2026", 0
        else:
            pence = 100 + n
            text = line(luhn(f"5{n:06d}") if n % 3 else f"NOFUND{n}", pence)
        lines.append(text)
        total += pence
    # The unreadable lines' amounts are not counted in the trailer; the others are.
    batch = imported(council_a, allpay_file(lines, total=total, count=25_000), user=officer)

    assert batch.status == ImportStatus.COMPLETED, batch.message
    assert (batch.lines_read, batch.rejected_count, batch.adjustments_count) == (25_000, 20, 5)
    assert batch.lines_accounted == 25_000
    receipts = list(
        Receipt.objects.filter(import_batch=batch).values_list(
            "journal_id", "import_line_number", "number", "idempotency_key"
        )
    )
    assert len(receipts) == batch.receipts_created == 25_000 - 25
    # One journal a chunk; the chunks' lines and numbers follow the file's order, and within
    # a chunk the receipts are numbered without a gap, in the order of their keys.
    chunks: dict[int, list[tuple]] = defaultdict(list)
    for journal_id, line_number, number, key in receipts:
        chunks[journal_id].append((int(number[1:]), line_number, key))
    assert len(chunks) == 2  # 10,000 lines, then the rest
    ranges = []
    for journal_id in sorted(chunks):
        chunk = sorted(chunks[journal_id])
        numbers = [number for number, _, _ in chunk]
        assert numbers == list(range(numbers[0], numbers[0] + len(chunk)))
        assert [key for _, _, key in chunk] == sorted(key for _, _, key in chunk)
        lines = [line_number for _, line_number, _ in chunk]
        ranges.append((min(lines), max(lines), numbers[0], numbers[-1]))
    assert ranges == sorted(ranges)
    assert all(earlier[1] < later[0] for earlier, later in pairwise(ranges))
    assert all(earlier[3] < later[2] for earlier, later in pairwise(ranges))
    assert batch.adjustment_journal.postings.aggregate(t=Sum("amount_pence"))["t"] == 0
    taken_back = [a.line_number for a in batch.adjustments.order_by("line_number")]
    assert taken_back == [5_000, 10_000, 15_000, 20_000, 25_000]
    assert batch.unexplained_debits_count == 0
    ctax = batch.fund_totals[0]
    assert ctax["code"] == "CTAX"
    assert account_balance(fund_account(funds["CTAX"])) == -ctax["pence"] + 5 * 100
    assert account_balance(suspense_account()) == -batch.suspense_pence
