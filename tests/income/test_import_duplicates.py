# Long because each way an overlapping file is recognised (by format, by line, by statement)
# is a test of its own over the same imported file.
"""A file that overlaps one already imported never doubles money: the same file (whatever its
line endings and trailing blank lines) or statement is refused; a line an earlier import
brought in is held as a possible duplicate for a finance manager to release or discard;
the same line twice in one file is two payments; a reversed import may be imported again."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Sum

from income.accounts import fund_account, suspense_account
from income.actions.imports import reverse_import, save_import_rule, upload_import
from income.actions.possible_duplicates import (
    discard_possible_duplicate,
    release_possible_duplicate,
)
from income.actions.receipts import reverse_receipt
from income.balances import account_balance
from income.formats import allpay
from income.formats.records import FileRefused, FileTotals, PaymentRecord
from income.formats.registry import FORMATS
from income.imports.duplicates import check_statement_is_new
from income.imports.line_keys import LineKeys
from income.imports.pipeline import run_import
from income.models import (
    CsvMapping,
    ImportBatch,
    ImportRule,
    ImportStatus,
    PossibleDuplicate,
    PossibleDuplicateStatus,
    Receipt,
    ReferenceRule,
)
from tenants.audit.models import AuditEvent
from tests.factories import FundFactory
from tests.income import identified_format

DAY = datetime.date(2026, 11, 20)


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def parking(ledger):
    rule = ReferenceRule.objects.create(name="Parking", pattern=r"PCN\d{6}")
    return FundFactory(code="PARK", name="Parking Fines", reference_rule=rule)


@pytest.fixture
def bank_mapping(ledger):
    return CsvMapping.objects.create(
        name="Bank", date_column=1, narrative_column=2, amount_column=3, reference_column=4
    )


@pytest.fixture
def identified(monkeypatch):
    monkeypatch.setitem(FORMATS, identified_format.NAME, identified_format)
    return identified_format.NAME


def pcn(n: int, pence: int = 1_000, letter: str = "P") -> str:
    return allpay.write_line(reference=f"PCN{n:06d}", amount_pence=pence, letter=letter, date=DAY)


def allpay_file(lines: list[str], *, ending: str = "\r\n") -> bytes:
    total = sum(int(line[23:32].replace(".", "")) for line in lines)
    body = lines + allpay.write_trailer(total_pence=total, count=len(lines))
    return (ending.join(body) + ending).encode("latin-1")


def upload(council, content: bytes, *, user=None, name="file.txt", fmt="allpay", **kwargs):
    return upload_import(
        council=council,
        uploaded_file=SimpleUploadedFile(name, content),
        format_name=fmt,
        acting_user=user,
        default_date=DAY,
        **kwargs,
    )


def imported(council, content: bytes, **kwargs) -> ImportBatch:
    batch = run_import(upload(council, content, **kwargs).pk)
    assert batch.status == ImportStatus.COMPLETED, batch.message
    return batch


def held(batch: ImportBatch) -> list[tuple[int, str, int]]:
    return [
        (line.line_number, line.reference, line.amount_pence)
        for line in batch.possible_duplicates.order_by("line_number")
    ]


# The whole file


def test_an_allpay_file_saved_with_lf_line_endings_is_refused_as_the_same_file(
    council_a, parking, officer
):
    crlf = allpay_file([pcn(1), pcn(2)])
    first = imported(council_a, crlf, user=officer, name="monday.txt")
    lf = allpay_file([pcn(1), pcn(2)], ending="\n")
    assert lf != crlf

    with pytest.raises(ValidationError) as refusal:
        upload(council_a, lf, user=officer, name="monday-lf.txt")

    assert refusal.value.messages[0].startswith("This file was already imported on ")
    assert refusal.value.messages[0].endswith(
        f"as import {first.pk} (monday.txt). The same file is never imported twice."
    )
    assert Receipt.objects.count() == 2
    assert ImportBatch.objects.count() == 1


def test_trailing_blank_lines_do_not_make_another_file(council_a, parking, officer):
    content = allpay_file([pcn(1)])
    first = imported(council_a, content, name="monday.txt")

    for padded in (content + b"\r\n\r\n", content + b"\n  \n\t\r\n", content.rstrip(b"\r\n")):
        with pytest.raises(ValidationError, match=f"as import {first.pk} \\(monday.txt\\)"):
            upload(council_a, padded, user=officer)

    assert Receipt.objects.count() == 1


def test_a_statement_sent_again_with_a_new_creation_time_is_refused(council_a, parking, identified):
    first = imported(
        council_a,
        b"STATEMENT MSG-1/STMT-77\nCREATED 2026-11-20T10:00\nA1,20/11/2026,10.00,PCN000001\n",
        fmt=identified,
        name="statement.xml",
    )
    assert first.statement_id == "MSG-1/STMT-77"
    # The same statement, generated again: another file (its creation time differs).
    resent = b"STATEMENT MSG-1/STMT-77\nCREATED 2026-11-21T07:00\nA1,20/11/2026,10.00,PCN000001\n"

    again = run_import(upload(council_a, resent, fmt=identified, name="resent.xml").pk)

    assert again.status == ImportStatus.REFUSED
    assert again.message.startswith("This statement (MSG-1/STMT-77) was already imported on ")
    assert again.message.endswith(
        f"as import {first.pk} (statement.xml). The bank has sent it again (with a new "
        "creation time): the same statement is never imported twice."
    )
    assert Receipt.objects.count() == 1
    assert not PossibleDuplicate.objects.exists()


def test_the_statement_check_knows_only_imports_that_stand(council_a, ledger):
    def batch(status, statement_id="S-1", sha="a"):
        return ImportBatch.objects.create(
            file_name=f"{status}.xml",
            sha256=sha * 64,
            content_sha256=sha * 64,
            size_bytes=1,
            format="camt053",
            default_date=DAY,
            status=status,
            statement_id=statement_id,
        )

    running = batch(ImportStatus.RUNNING, statement_id="", sha="f")
    assert check_statement_is_new(running, FileTotals(statement_id="S-1")) == "S-1"
    assert check_statement_is_new(running, FileTotals()) == ""
    assert check_statement_is_new(running, None) == ""
    batch(ImportStatus.REVERSED, sha="b")
    batch(ImportStatus.REFUSED, sha="c")
    assert check_statement_is_new(running, FileTotals(statement_id="S-1")) == "S-1"
    earlier = batch(ImportStatus.COMPLETED, sha="d")

    with pytest.raises(FileRefused, match=f"as import {earlier.pk} \\(completed.xml\\)"):
        check_statement_is_new(running, FileTotals(statement_id=" S-1 "))


# Lines already imported


def test_a_bank_csv_with_three_lines_already_imported_and_one_new_makes_one_receipt(
    council_a, parking, bank_mapping, officer
):
    monday = (
        b"Date,Details,Amount,Reference\r\n"
        b"20/11/2026,PAYMENT,10.00,PCN000001\r\n"
        b"20/11/2026,PAYMENT,20.00,PCN000002\r\n"
        b"21/11/2026,PAYMENT,30.00,PCN000003\r\n"
    )
    first = imported(council_a, monday, fmt="bank_csv", mapping=bank_mapping, user=officer)
    earlier = {r.payer_reference: r for r in Receipt.objects.filter(import_batch=first)}
    # The next export overlaps: the same three payments (another header, another layout of
    # the same amounts) and one new one.
    tuesday = (
        b"Date,Details,Amount,Reference\n"
        b"20/11/2026,PAYMENT,10.0,PCN000001\n"
        b"20/11/2026,PAYMENT,20.00,PCN000002\n"
        b"21/11/2026,PAYMENT,30.00,PCN000003\n"
        b"22/11/2026,PAYMENT,40.00,PCN000004\n"
    )

    second = imported(council_a, tuesday, fmt="bank_csv", mapping=bank_mapping, user=officer)

    assert (second.receipts_created, second.receipts_pence) == (1, 4_000)
    assert (second.duplicates_count, second.duplicates_pence) == (3, 6_000)
    assert second.lines_read == 4 and second.lines_accounted == 4
    assert Receipt.objects.get(import_batch=second).payer_reference == "PCN000004"
    assert held(second) == [
        (2, "PCN000001", 1_000),
        (3, "PCN000002", 2_000),
        (4, "PCN000003", 3_000),
    ]
    lines = second.possible_duplicates.order_by("line_number")
    assert [line.earlier_receipt for line in lines] == [
        earlier["PCN000001"],
        earlier["PCN000002"],
        earlier["PCN000003"],
    ]
    assert {line.status for line in lines} == {PossibleDuplicateStatus.HELD}
    assert account_balance(fund_account(parking)) == -10_000


def test_the_first_five_lines_of_an_imported_allpay_file_make_no_receipts(council_a, parking):
    lines = [pcn(n, 1_000 + n) for n in range(1, 9)]
    imported(council_a, allpay_file(lines))
    receipts = Receipt.objects.count()

    again = imported(council_a, allpay_file(lines[:5]))

    assert again.receipts_created == 0
    assert again.duplicates_count == 5
    assert held(again) == [(n, f"PCN{n:06d}", 1_000 + n) for n in range(1, 6)]
    assert Receipt.objects.count() == receipts
    assert account_balance(fund_account(parking)) == -sum(1_000 + n for n in range(1, 9))


def test_the_same_line_twice_in_one_file_is_two_payments(council_a, parking):
    batch = imported(council_a, allpay_file([pcn(1), pcn(2), pcn(1)]))

    assert batch.receipts_created == 3
    assert not batch.possible_duplicates.exists()
    assert account_balance(fund_account(parking)) == -3_000
    # A later file with the line once more than before: the third is new money.
    later = imported(council_a, allpay_file([pcn(1), pcn(1), pcn(1), pcn(3)]))
    assert (later.receipts_created, later.receipts_pence) == (2, 2_000)
    assert held(later) == [(1, "PCN000001", 1_000), (2, "PCN000001", 1_000)]


def test_a_line_is_known_by_its_formats_identity_when_the_format_gives_one(
    council_a, parking, identified
):
    first = imported(council_a, b"BANKREF-1,20/11/2026,10.00,PCN000001\n", fmt=identified)
    assert first.receipts_created == 1

    # The same bank reference with its reference corrected is the same line; another bank
    # reference with the same details is another payment.
    second = imported(
        council_a,
        b"BANKREF-1,20/11/2026,10.00,PCN000009\nBANKREF-2,20/11/2026,10.00,PCN000001\n",
        fmt=identified,
    )

    assert held(second) == [(1, "PCN000009", 1_000)]
    assert second.receipts_created == 1
    assert Receipt.objects.get(import_batch=second).payer_reference == "PCN000001"


def test_line_keys_use_the_formats_identity_or_else_date_reference_amount_and_channel():
    keys = LineKeys()
    record = PaymentRecord(1, 1_000, DAY, reference="PCN000001", channel_code="BANK")
    same = PaymentRecord(7, 1_000, DAY, reference="PCN000001", channel_code="BANK")
    other_amount = PaymentRecord(8, 1_001, DAY, reference="PCN000001", channel_code="BANK")
    first, second, third = keys.key(record), keys.key(same), keys.key(other_amount)
    assert first.startswith("file:BANK:2026-11-20:") and first.endswith(":1")
    assert second == first[:-1] + "2"  # the same line again: its second occurrence
    assert third.endswith(":1") and third != first

    identified = LineKeys()
    a = PaymentRecord(1, 1_000, DAY, reference="X", channel_code="BANK", identity="REF-1")
    b = PaymentRecord(2, 1_000, DAY, reference="Y", channel_code="BANK", identity="REF-1")
    assert identified.key(a)[:-1] == identified.key(b)[:-1]
    assert LineKeys().key(a) != LineKeys().key(record)


def test_a_receipt_reversed_on_its_own_still_holds_its_line_back(council_a, parking, manager):
    first = imported(council_a, allpay_file([pcn(1)]))
    receipt = Receipt.objects.get(import_batch=first)
    reverse_receipt(
        council=council_a, receipt=receipt, reason="cheque bounced", acting_user=manager
    )

    again = imported(council_a, allpay_file([pcn(1), pcn(2)]))

    assert held(again) == [(1, "PCN000001", 1_000)]
    assert again.possible_duplicates.get().earlier_receipt == receipt


# Deciding a held line


@pytest.fixture
def held_line(council_a, parking):
    imported(council_a, allpay_file([pcn(1), pcn(2)]))
    batch = imported(council_a, allpay_file([pcn(2), pcn(3)]))
    return batch.possible_duplicates.get()


def test_a_released_line_becomes_a_receipt_once(council_a, parking, held_line, manager):
    before = account_balance(fund_account(parking))

    receipt = release_possible_duplicate(council=council_a, line=held_line, acting_user=manager)
    again = release_possible_duplicate(council=council_a, line=held_line, acting_user=manager)

    assert again == receipt
    held_line.refresh_from_db()
    assert held_line.status == PossibleDuplicateStatus.RELEASED
    assert (held_line.receipt, held_line.decided_by_email) == (receipt, manager.email)
    assert (receipt.amount_pence, receipt.payer_reference) == (1_000, "PCN000002")
    assert receipt.import_batch_id == held_line.batch_id
    assert receipt.idempotency_key == f"release:{held_line.pk}"
    assert receipt.journal.postings.aggregate(t=Sum("amount_pence"))["t"] == 0
    # Allocated as the import allocates: by the fund's reference rule, to its fund.
    assert account_balance(fund_account(parking)) == before - 1_000
    assert Receipt.objects.filter(payer_reference="PCN000002").count() == 2
    events = AuditEvent.objects.filter(action="import.possible_duplicate_released")
    assert [(e.actor_email, e.target_id, e.after["receipt"]) for e in events] == [
        (manager.email, str(held_line.pk), receipt.number)
    ]


def test_a_released_line_follows_the_import_rules_and_the_funds_checks(
    council_a, parking, held_line, manager
):
    rents = FundFactory(
        code="RENT", name="Housing Rents", max_amount_pence=500, overpayment_handling="refuse"
    )
    save_import_rule(
        council=council_a,
        rule=ImportRule(
            name="All to rents",
            conditions=[{"field": "reference", "operator": "starts_with", "value": "PCN"}],
            set_fund=rents,
        ),
        acting_user=manager,
    )
    suspense_before = account_balance(suspense_account())

    release_possible_duplicate(council=council_a, line=held_line, acting_user=manager)

    # The rule sends it to Rents, which takes at most £5: it waits in suspense, with why.
    assert account_balance(suspense_account()) == suspense_before - 1_000
    suspended = held_line.batch.suspended.get(line_number=held_line.line_number)
    assert suspended.reason == "RENT takes at most £5.00"


def test_a_discarded_line_makes_no_receipt_and_says_who_and_why(
    council_a, parking, held_line, manager
):
    receipts = Receipt.objects.count()
    with pytest.raises(ValidationError, match=r"^\['Say why the line is being discarded\.'\]$"):
        discard_possible_duplicate(
            council=council_a, line=held_line, reason="  ", acting_user=manager
        )

    discard_possible_duplicate(
        council=council_a, line=held_line, reason="in Monday's file too", acting_user=manager
    )

    held_line.refresh_from_db()
    assert held_line.status == PossibleDuplicateStatus.DISCARDED
    assert (held_line.reason, held_line.decided_by_email) == ("in Monday's file too", manager.email)
    assert held_line.receipt is None
    assert Receipt.objects.count() == receipts
    event = AuditEvent.objects.get(action="import.possible_duplicate_discarded")
    assert (event.actor_email, event.reason) == (manager.email, "in Monday's file too")
    with pytest.raises(ValidationError) as refusal:
        release_possible_duplicate(council=council_a, line=held_line, acting_user=manager)
    assert refusal.value.messages[0].startswith(
        f"Line 1 of import {held_line.batch_id} was discarded by {manager.email} on "
    )
    assert refusal.value.messages[0].endswith(", so it cannot be released.")
    assert Receipt.objects.count() == receipts


def test_officers_and_auditors_cannot_decide_held_lines(
    council_a, parking, held_line, officer, auditor
):
    receipts = Receipt.objects.count()
    for person, role in ((officer, "Income officer"), (auditor, "Auditor (read-only)")):
        with pytest.raises(PermissionDenied) as refusal:
            release_possible_duplicate(council=council_a, line=held_line, acting_user=person)
        assert str(refusal.value) == f"Your role ({role}) does not allow this."
        with pytest.raises(PermissionDenied, match=r"does not allow this\."):
            discard_possible_duplicate(
                council=council_a, line=held_line, reason="no", acting_user=person
            )

    held_line.refresh_from_db()
    assert held_line.status == PossibleDuplicateStatus.HELD
    assert Receipt.objects.count() == receipts


# Reversal


def test_a_reversed_import_may_be_imported_again(council_a, parking, officer):
    content = allpay_file([pcn(1), pcn(2)])
    first = imported(council_a, content, user=officer, name="monday.txt")
    reverse_import(council=council_a, batch=first, reason="rule was wrong", acting_user=officer)

    again = imported(council_a, content, user=officer, name="monday.txt")

    assert (again.receipts_created, again.duplicates_count) == (2, 0)
    assert account_balance(fund_account(parking)) == -2_000
    # While it stands, the file and its lines are known again.
    with pytest.raises(ValidationError, match=f"as import {again.pk} "):
        upload(council_a, content, user=officer)
    part = imported(council_a, allpay_file([pcn(1)]))
    assert part.duplicates_count == 1


def test_lines_held_by_a_reversed_import_can_no_longer_be_decided(
    council_a, parking, held_line, manager
):
    reverse_import(
        council=council_a, batch=held_line.batch, reason="wrong file", acting_user=manager
    )

    with pytest.raises(ValidationError) as refusal:
        release_possible_duplicate(council=council_a, line=held_line, acting_user=manager)

    assert refusal.value.messages == [
        f"Import {held_line.batch_id} was reversed, so its held lines can no longer be "
        "released or discarded."
    ]


# Money out


def test_a_debit_in_an_overlapping_file_is_held_not_taken_back_twice(
    council_a, parking, bank_mapping, manager, officer
):
    from income.models import ImportAdjustment
    from income.unexplained_debits import open_debits_total, unexplained_debits_balance

    monday = (
        b"Date,Details,Amount,Reference\r\n"
        b"20/11/2026,PAYMENT,10.00,PCN000001\r\n"
        b"20/11/2026,UNPAID,-45.00,UNPAID\r\n"
        b"20/11/2026,CHARGES,-5.00,BANK\r\n"
    )
    imported(council_a, monday, fmt="bank_csv", mapping=bank_mapping, user=officer)
    assert unexplained_debits_balance() == 5_000
    tuesday = monday.replace(b"\r\n", b"\n") + b"21/11/2026,CHARGES,-5.00,BANK\n"

    second = imported(council_a, tuesday, fmt="bank_csv", mapping=bank_mapping, user=officer)

    # Monday's three lines are held (money in and money out alike); Tuesday's charge is new.
    assert held(second) == [(2, "PCN000001", 1_000), (3, "UNPAID", -4_500), (4, "BANK", -500)]
    assert unexplained_debits_balance() == 5_500
    assert open_debits_total().pence == 5_500
    assert ImportAdjustment.objects.filter(batch=second).count() == 1

    # Released (the bank really did charge twice): taken back once, however often asked.
    charge = second.possible_duplicates.get(line_number=4)
    for _ in range(2):
        assert (
            release_possible_duplicate(council=council_a, line=charge, acting_user=manager) is None
        )
    assert unexplained_debits_balance() == 6_000
    assert open_debits_total().pence == 6_000


def test_reversing_an_import_reverses_its_released_money_out_lines_too(
    council_a, parking, bank_mapping, manager, officer
):
    from income.unexplained_debits import open_debits_total, unexplained_debits_balance

    monday = b"Date,Details,Amount,Reference\r\n20/11/2026,CHARGES,-5.00,BANK\r\n"
    imported(council_a, monday, fmt="bank_csv", mapping=bank_mapping, user=officer)
    tuesday = monday.replace(b"\r\n", b"\n") + b"21/11/2026,BGC,10.00,PCN000001\n"
    second = imported(council_a, tuesday, fmt="bank_csv", mapping=bank_mapping, user=officer)
    charge = second.possible_duplicates.get()
    release_possible_duplicate(council=council_a, line=charge, acting_user=manager)
    assert (unexplained_debits_balance(), open_debits_total().pence) == (1_000, 1_000)

    reverse_import(council=council_a, batch=second, reason="Wrong file", acting_user=manager)

    # The released charge went with its import: the ledger and the worklist both say Monday's
    # £5 is all that is left unexplained, and Tuesday's payment is gone.
    assert (unexplained_debits_balance(), open_debits_total().pence) == (500, 500)
    assert account_balance(fund_account(parking)) == 0
    charge.refresh_from_db()
    assert charge.money_out_journal_id is not None
