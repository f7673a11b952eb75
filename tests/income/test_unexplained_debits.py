# Long because each way a debit is matched, held, explained or reversed is a test of its own.
"""Debits in imported files: a debit that identifies one receipt takes its money back from that
receipt; one that identifies none waits on the unexplained debits worklist (never netted
against suspense), where someone with the right role explains it with one journal."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Sum
from django.utils import timezone
from django_tenants.utils import schema_context

from income.accounts import (
    clearing_account,
    fees_account,
    fund_account,
    suspense_account,
    unexplained_debits_account,
)
from income.actions.imports import reverse_import, upload_import
from income.actions.receipts import Allocation, record_receipt, reverse_receipt
from income.actions.refunds import raise_refund, reject_refund
from income.actions.unexplained_debits import (
    reopen_unexplained_debit,
    resolve_unexplained_debit,
)
from income.balances import (
    HeldLine,
    account_balance,
    receipt_allocation,
    receipt_allocation_lines,
    refundable_pence,
)
from income.imports.pipeline import run_import
from income.models import (
    Channel,
    CsvMapping,
    FundGroup,
    FundGroupAccess,
    ImportAdjustment,
    ImportBatch,
    ImportStatus,
    Journal,
    JournalKind,
    ReferenceRule,
    UnexplainedDebit,
    UnexplainedDebitStatus,
)
from income.suspense_worklist import suspense_items, suspense_total
from income.unexplained_debits import open_debits_total, unexplained_debits_balance
from tenants.audit.models import AuditEvent
from tenants.models import CouncilRole
from tests.conftest import host_client, make_member, sign_in
from tests.factories import FundFactory

DAY = datetime.date(2026, 11, 20)

MT940 = (
    b":20:S1\n:25:20000012345678\n:28C:1/1\n:60F:C261120GBP100,00\n"
    b":61:2611201120C120,00NTRFUNKNOWN1//B1\n:86:BANK GIRO CREDIT O SMITH\n"
    b":61:2611201120D25,00NTRFNONREF//RTN0001\n:86:RETURNED DIRECT DEBIT\n"
    b":62F:C261120GBP195,00\n"
)
BANK_CSV = (
    b"Date,Description,Paid in,Paid out,Reference\r\n"
    b"20/11/2026,BGC A PATEL,10.00,,UNKNOWN2\r\n"
    b"20/11/2026,DD RETURN,,45.00,UNPAID\r\n"
)


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
        name="Bank",
        date_column=1,
        narrative_column=2,
        credit_column=3,
        debit_column=4,
        reference_column=5,
        channel=Channel.objects.get(code="BANK"),
    )


def imported(council, content: bytes, fmt: str, **kwargs) -> ImportBatch:
    batch = upload_import(
        council=council,
        uploaded_file=SimpleUploadedFile(f"file.{fmt}", content),
        format_name=fmt,
        acting_user=None,
        default_date=DAY,
        **kwargs,
    )
    batch = run_import(batch.pk)
    assert batch.status == ImportStatus.COMPLETED, batch.message
    return batch


def csv_file(*rows: str) -> bytes:
    return ("Date,Description,Paid in,Paid out,Reference\r\n" + "".join(rows)).encode()


def paid(fund, pence: int, reference: str, key: str, channel_code: str = "BANK"):
    return record_receipt(
        channel=Channel.objects.get(code=channel_code),
        amount_pence=pence,
        received_on=DAY - datetime.timedelta(days=3),
        allocations=[Allocation(fund, pence)],
        idempotency_key=key,
        acting_user=None,
        payer_reference=reference,
    ).receipt


def assert_ledger_agrees_with_the_worklists() -> None:
    """Each worklist's header, read from the ledger, is the sum of its items."""
    assert suspense_total() == sum(i.in_suspense_pence for i in suspense_items(today=DAY))
    open_items = UnexplainedDebit.objects.filter(status=UnexplainedDebitStatus.OPEN)
    assert unexplained_debits_balance() == (open_items.aggregate(t=Sum("amount_pence"))["t"] or 0)
    assert account_balance(unexplained_debits_account()) == unexplained_debits_balance()


def test_returned_and_unpaid_debits_matching_no_receipt_wait_apart_from_suspense(
    council_a, parking, bank_mapping
):
    mt940 = imported(council_a, MT940, "mt940")
    csv = imported(council_a, BANK_CSV, "bank_csv", mapping=bank_mapping)

    # Suspense holds the two unplaced credits, no less: the debits never touched it.
    assert suspense_total() == 12_000 + 1_000
    assert account_balance(suspense_account()) == -13_000
    assert sum(i.in_suspense_pence for i in suspense_items(today=DAY)) == 13_000
    debits = list(UnexplainedDebit.objects.order_by("amount_pence"))
    assert [(d.amount_pence, d.reference, d.status) for d in debits] == [
        (2_500, "RETURNED", "open"),
        (4_500, "UNPAID", "open"),
    ]
    assert [d.reason for d in debits] == [
        "no receipt has the reference RETURNED",
        "no receipt has the reference UNPAID",
    ]
    assert (debits[0].batch, debits[0].narrative) == (mt940, "RETURNED DIRECT DEBIT")
    assert (debits[1].batch, debits[1].received_on) == (csv, DAY)
    assert account_balance(unexplained_debits_account()) == 7_000
    assert open_debits_total().pence == 7_000
    assert account_balance(clearing_account(Channel.objects.get(code="BANK"))) == (
        12_000 + 1_000 - 7_000
    )
    assert (mt940.unexplained_debits_count, mt940.unexplained_debits_pence) == (1, 2_500)
    assert (csv.unexplained_debits_count, csv.unexplained_debits_pence) == (1, 4_500)
    # Every line is still accounted for once: the debits are money out, not suspense.
    assert (csv.adjustments_count, csv.adjustments_pence, csv.suspense_count) == (1, 4_500, 1)
    assert csv.lines_accounted == csv.lines_read == 2
    assert list(csv.suspended.values_list("line_number", flat=True)) == [2]  # the credit only
    assert_ledger_agrees_with_the_worklists()


def test_a_bank_charge_waits_on_the_worklist_too(council_a, parking, bank_mapping):
    before = suspense_total()
    batch = imported(
        council_a,
        csv_file("20/11/2026,SERVICE CHARGES,,8.50,BANK\r\n"),
        "bank_csv",
        mapping=bank_mapping,
    )

    debit = UnexplainedDebit.objects.get(batch=batch)
    assert (debit.amount_pence, debit.reference, debit.narrative) == (
        850,
        "BANK",
        "SERVICE CHARGES",
    )
    assert suspense_total() == before
    assert account_balance(unexplained_debits_account()) == 850
    adjustment = ImportAdjustment.objects.get(batch=batch)
    assert (adjustment.unexplained, adjustment.receipt, adjustment.fund) == (True, None, None)
    assert_ledger_agrees_with_the_worklists()


def test_a_debit_that_identifies_one_receipt_takes_it_back_from_that_receipts_fund(
    council_a, parking, bank_mapping
):
    receipt = paid(parking, 4_000, "PCN000001", "card-1")
    other = paid(parking, 9_000, "PCN000002", "card-2")
    before = suspense_total()

    batch = imported(
        council_a,
        csv_file("20/11/2026,CHEQUE RETURNED,,15.00,PCN000001\r\n"),
        "bank_csv",
        mapping=bank_mapping,
    )

    assert receipt_allocation(receipt) == {parking.pk: 2_500}
    assert receipt_allocation(other) == {parking.pk: 9_000}
    assert account_balance(fund_account(parking)) == -(2_500 + 9_000)
    adjustment = ImportAdjustment.objects.get(batch=batch)
    assert (adjustment.receipt, adjustment.fund, adjustment.unexplained) == (
        receipt,
        parking,
        False,
    )
    assert (batch.unexplained_debits_count, UnexplainedDebit.objects.count()) == (0, 0)
    assert suspense_total() == before
    # The take-back is in the receipt's name, so reversing the receipt later empties what is
    # left and balances (a returned Direct Debit reverses receipts this way).
    reverse_receipt(council=council_a, receipt=receipt, reason="bounced", acting_user=None)
    assert receipt_allocation(receipt) == {}
    assert account_balance(fund_account(parking)) == -9_000
    assert_ledger_agrees_with_the_worklists()


def test_a_debit_two_receipts_could_explain_waits_unless_one_is_of_its_amount(
    council_a, parking, bank_mapping
):
    paid(parking, 4_000, "PCN000007", "a")
    exact = paid(parking, 1_500, "PCN000007", "b")
    smaller = paid(parking, 2_000, "PCN000008", "c")
    larger = paid(parking, 3_000, "PCN000008", "d")

    batch = imported(
        council_a,
        csv_file(
            "20/11/2026,RETURNED,,15.00,PCN000007\r\n",
            "20/11/2026,RETURNED,,10.00,PCN000008\r\n",
            "20/11/2026,RETURNED,,99.00,PCN000008\r\n",
        ),
        "bank_csv",
        mapping=bank_mapping,
    )

    assert receipt_allocation(exact) == {}
    reasons = dict(
        UnexplainedDebit.objects.filter(batch=batch).values_list("line_number", "reason")
    )
    both = ", ".join(sorted([smaller.number, larger.number]))
    assert reasons == {  # line 1 is the header; line 2 took back from `exact`
        3: f"2 receipts with the reference PCN000008 could be the one ({both}), and none is "
        "of exactly £10.00",
        4: f"no receipt with the reference PCN000008 holds £99.00 ({larger.number} holds £30.00)",
    }
    assert_ledger_agrees_with_the_worklists()


@pytest.fixture
def open_debit(council_a, parking, bank_mapping) -> UnexplainedDebit:
    batch = imported(
        council_a,
        csv_file("20/11/2026,DD RETURN,,45.00,UNPAID\r\n"),
        "bank_csv",
        mapping=bank_mapping,
    )
    return UnexplainedDebit.objects.get(batch=batch)


@pytest.mark.parametrize("resolution", ["receipt", "fund", "fees"])
def test_explaining_a_debit_posts_one_balanced_journal_and_empties_it(
    council_a, parking, open_debit, manager, resolution
):
    receipt = paid(parking, 10_000, "PCN000009", "r")
    target = {"receipt": {"receipt": receipt}, "fund": {"fund": parking}, "fees": {}}[resolution]

    journal = resolve_unexplained_debit(
        council=council_a,
        debit=open_debit,
        resolution=resolution,
        reason="Bank confirmed what it was",
        acting_user=manager,
        **target,
    )

    assert journal.kind == JournalKind.UNEXPLAINED_DEBIT
    postings = {(p.account, p.receipt_id): p.amount_pence for p in journal.postings.all()}
    expected_debit = {
        "receipt": (fund_account(parking), receipt.pk),
        "fund": (fund_account(parking), None),
        "fees": (fees_account(), None),
    }[resolution]
    assert postings == {expected_debit: 4_500, (unexplained_debits_account(), None): -4_500}
    open_debit.refresh_from_db()
    assert (open_debit.status, open_debit.resolution, open_debit.journal) == (
        "resolved",
        resolution,
        journal,
    )
    assert account_balance(unexplained_debits_account()) == 0
    if resolution == "receipt":
        assert receipt_allocation(receipt) == {parking.pk: 5_500}
    event = AuditEvent.objects.get(action="unexplained_debit.resolved")
    assert (event.actor_email, event.reason) == (manager.email, "Bank confirmed what it was")
    assert event.after["journal"] == journal.pk
    assert_ledger_agrees_with_the_worklists()


def test_a_debit_is_explained_once(council_a, open_debit, manager):
    first = resolve_unexplained_debit(
        council=council_a,
        debit=open_debit,
        resolution="fees",
        reason="Charges",
        acting_user=manager,
    )
    journals = Journal.objects.count()
    open_debit.refresh_from_db()

    with pytest.raises(ValidationError) as refusal:
        resolve_unexplained_debit(
            council=council_a,
            debit=open_debit,
            resolution="fees",
            reason="Again",
            acting_user=manager,
        )

    when = timezone.localtime(open_debit.resolved_at)
    assert refusal.value.messages == [
        f"The debit of £45.00 on line 2 of import {open_debit.batch_id} was already explained "
        f"on {when:%-d %B %Y at %H:%M} by {manager.email} (journal J{first.pk}). "
        "It cannot be explained twice."
    ]
    assert Journal.objects.count() == journals
    assert account_balance(fees_account()) == 4_500


def test_explaining_a_debit_from_a_receipt_that_holds_too_little_is_refused(
    council_a, parking, open_debit, manager
):
    small = paid(parking, 2_000, "PCN000010", "small")
    with pytest.raises(ValidationError) as refusal:
        resolve_unexplained_debit(
            council=council_a,
            debit=open_debit,
            resolution="receipt",
            receipt=small,
            reason="Wrong one",
            acting_user=manager,
        )
    assert refusal.value.messages == [
        f"{small.number} holds £20.00, less than the £45.00 that went out."
    ]
    open_debit.refresh_from_db()
    assert open_debit.status == "open"
    assert receipt_allocation(small) == {parking.pk: 2_000}


@pytest.mark.parametrize("role", [CouncilRole.INCOME_OFFICER, CouncilRole.AUDITOR])
def test_officers_and_auditors_cannot_explain_a_debit(council_a, open_debit, role):
    user = make_member(council_a, role)
    with pytest.raises(PermissionDenied):
        resolve_unexplained_debit(
            council=council_a, debit=open_debit, resolution="fees", reason="x", acting_user=user
        )
    client = sign_in(host_client(council_a), user)
    response = client.post(
        f"/unexplained-debits/{open_debit.pk}/", {"resolution": "fees", "reason": "x"}
    )
    assert response.status_code == 403
    open_debit.refresh_from_db()
    assert open_debit.status == "open"
    assert account_balance(unexplained_debits_account()) == 4_500
    # Looking is allowed: the worklist shows the debit, without the means to explain it.
    page = client.get("/unexplained-debits/").content.decode()
    assert "UNPAID" in page and "£45.00" in page
    assert f"/unexplained-debits/{open_debit.pk}/" not in page


def test_council_b_sees_nothing_of_council_as_unexplained_debits(council_a, council_b, open_debit):
    with schema_context(council_b.schema_name):
        assert not UnexplainedDebit.objects.exists()
        manager_b = make_member(council_b, CouncilRole.FINANCE_MANAGER)
    client = sign_in(host_client(council_b), manager_b)
    page = client.get("/unexplained-debits/").content.decode()
    assert "UNPAID" not in page and "£45.00" not in page
    assert client.get(f"/unexplained-debits/{open_debit.pk}/").status_code == 404
    response = client.post(
        f"/unexplained-debits/{open_debit.pk}/", {"resolution": "fees", "reason": "x"}
    )
    assert response.status_code == 404
    with schema_context(council_a.schema_name):
        open_debit.refresh_from_db()
        assert open_debit.status == "open"


def test_a_manager_explains_a_debit_through_the_pages(council_a, parking, open_debit, manager):
    client = sign_in(host_client(council_a), manager)
    worklist = client.get("/unexplained-debits/").content.decode()
    assert "£45.00 went out of the bank by debits no receipt explains" in worklist
    assert "No receipt has the reference UNPAID" in worklist
    assert "Unexplained debits (money out)" in client.get("/").content.decode()
    assert "£45.00 of unexplained debits" in client.get("/suspense/").content.decode()
    summary = client.get(f"/imports/{open_debit.batch_id}/").content.decode()
    assert "1 debit matched no receipt, £45.00" in summary

    missing = client.post(
        f"/unexplained-debits/{open_debit.pk}/",
        {"resolution": "receipt", "receipt_number": "R999999", "reason": "Bounced"},
    )
    assert "There is no receipt R999999." in missing.content.decode()
    done = client.post(
        f"/unexplained-debits/{open_debit.pk}/",
        {"resolution": "fund", "fund": str(parking.pk), "reason": "Refund paid by cheque"},
    )
    assert done.status_code == 302
    open_debit.refresh_from_db()
    assert (open_debit.status, open_debit.fund) == ("resolved", parking)
    again = client.post(
        f"/unexplained-debits/{open_debit.pk}/", {"resolution": "fees", "reason": "Twice"}
    )
    assert "It cannot be explained twice." in again.content.decode()
    assert account_balance(fund_account(parking)) == 4_500
    assert "Every debit is explained." in client.get("/unexplained-debits/").content.decode()


def test_reversing_an_import_reverses_its_open_unexplained_debits(
    council_a, parking, bank_mapping, manager
):
    receipt = paid(parking, 4_000, "PCN000001", "card-1")
    batch = imported(
        council_a,
        csv_file(
            "20/11/2026,RETURNED,,15.00,PCN000001\r\n",
            "20/11/2026,DD RETURN,,45.00,UNPAID\r\n",
            "20/11/2026,SERVICE CHARGES,,8.50,BANK\r\n",
        ),
        "bank_csv",
        mapping=bank_mapping,
    )
    assert account_balance(unexplained_debits_account()) == 5_350

    journal = reverse_import(
        council=council_a, batch=batch, reason="wrong statement", acting_user=manager
    )

    assert journal.postings.aggregate(t=Sum("amount_pence"))["t"] == 0
    assert set(UnexplainedDebit.objects.values_list("status", flat=True)) == {"reversed"}
    assert account_balance(unexplained_debits_account()) == 0
    assert account_balance(clearing_account(Channel.objects.get(code="BANK"))) == 4_000
    assert receipt_allocation(receipt) == {parking.pk: 4_000}
    assert open_debits_total().count == 0
    assert_ledger_agrees_with_the_worklists()


def test_an_import_whose_unexplained_debit_was_explained_cannot_be_reversed(
    council_a, open_debit, manager
):
    resolution = resolve_unexplained_debit(
        council=council_a,
        debit=open_debit,
        resolution="fees",
        reason="Charges",
        acting_user=manager,
    )
    batch = open_debit.batch
    with pytest.raises(ValidationError) as refusal:
        reverse_import(council=council_a, batch=batch, reason="oops", acting_user=manager)
    assert refusal.value.messages == [
        f"Import {batch.pk} cannot be reversed: its unexplained debit on line 2 has already "
        f"been explained (journal J{resolution.pk}), and reversing the import would put that "
        "money back a second time."
    ]
    batch.refresh_from_db()
    assert batch.status == ImportStatus.COMPLETED
    assert account_balance(fees_account()) == 4_500
    assert account_balance(unexplained_debits_account()) == 0


def test_an_import_whose_receipt_a_later_debit_took_back_from_cannot_be_reversed(
    council_a, parking, bank_mapping, manager
):
    first = imported(
        council_a,
        csv_file("20/11/2026,BGC,40.00,,PCN000003\r\n"),
        "bank_csv",
        mapping=bank_mapping,
    )
    later = imported(
        council_a,
        csv_file("21/11/2026,RETURNED,,40.00,PCN000003\r\n"),
        "bank_csv",
        mapping=bank_mapping,
    )
    receipt = first.receipts.get()
    assert receipt_allocation(receipt) == {}

    with pytest.raises(ValidationError) as refusal:
        reverse_import(council=council_a, batch=first, reason="oops", acting_user=manager)
    assert refusal.value.messages == [
        f"Import {first.pk} cannot be reversed: money was later taken back from its receipts "
        f"({receipt.number} by import {later.pk}). Reverse those first."
    ]
    # Reversing the later import first puts the money back; then the first one goes.
    reverse_import(council=council_a, batch=later, reason="wrong file", acting_user=manager)
    assert receipt_allocation(receipt) == {parking.pk: 4_000}
    reverse_import(council=council_a, batch=first, reason="wrong file", acting_user=manager)
    assert receipt_allocation(receipt) == {}
    assert account_balance(fund_account(parking)) == 0
    assert account_balance(clearing_account(Channel.objects.get(code="BANK"))) == 0


def test_a_returned_direct_debit_already_taken_back_by_a_bank_debit_is_not_reversed_twice(
    council_a, council_tax, bank_mapping, officer
):
    from income.actions.returned_debits import apply_returned_debits
    from tests.income.test_import_returned_debits import arudd

    receipt = record_receipt(
        channel=Channel.objects.get(code="DD"),
        amount_pence=4_250,
        received_on=DAY,
        allocations=[Allocation(council_tax, 4_250)],
        idempotency_key="dd:1",
        acting_user=None,
        payer_reference="50000004",
    ).receipt
    imported(
        council_a,
        csv_file("24/11/2026,DD RETURN,,42.50,50000004\r\n"),
        "bank_csv",
        mapping=bank_mapping,
    )
    assert receipt_allocation(receipt) == {}

    [result] = apply_returned_debits(
        council=council_a, uploaded_file=arudd([("50000004", "42.50", "0")]), acting_user=officer
    )

    assert result.status == "unmatched"
    assert result.reason == (
        f"{receipt.number} could not be reversed: {receipt.number} holds no money now: all of "
        "it was taken back by a debit."
    )
    assert account_balance(fund_account(council_tax)) == 0
    assert account_balance(clearing_account(Channel.objects.get(code="DD"))) == 4_250
    assert account_balance(clearing_account(Channel.objects.get(code="BANK"))) == -4_250


@pytest.fixture
def split_receipt(council_a, parking):
    """£100 to Council Tax under 50000009 and £35.50 to Parking Fines under its own notice."""
    council_tax = FundFactory(code="CTAX", name="Council Tax")
    receipt = record_receipt(
        channel=Channel.objects.get(code="BANK"),
        amount_pence=13_550,
        received_on=DAY - datetime.timedelta(days=3),
        allocations=[
            Allocation(council_tax, 10_000, "50000009"),
            Allocation(parking, 3_550, "PCN000123"),
        ],
        idempotency_key="split",
        acting_user=None,
        payer_reference="50000009",
    ).receipt
    return receipt, council_tax


def test_a_debit_on_a_split_receipt_takes_each_line_back_under_its_own_reference(
    council_a, parking, bank_mapping, split_receipt
):
    receipt, council_tax = split_receipt

    imported(
        council_a,
        csv_file("20/11/2026,CHEQUE RETURNED,,120.00,50000009\r\n"),
        "bank_csv",
        mapping=bank_mapping,
    )

    # Council Tax emptied first (the larger), then £20 of the Parking line, which keeps its
    # notice: no line is left negative under one reference and positive under another.
    assert receipt_allocation_lines(receipt) == {HeldLine(parking.pk, "PCN000123"): 1_550}
    assert refundable_pence(receipt, parking.pk, "PCN000123") == 1_550
    reverse_receipt(council=council_a, receipt=receipt, reason="bounced", acting_user=None)
    assert receipt_allocation_lines(receipt) == {}
    assert account_balance(fund_account(parking)) == 0
    assert account_balance(fund_account(council_tax)) == 0
    assert_ledger_agrees_with_the_worklists()


def test_a_receipt_a_debit_emptied_holds_nothing_to_reverse(
    council_a, parking, bank_mapping, split_receipt
):
    receipt, _ = split_receipt
    imported(
        council_a,
        csv_file("20/11/2026,CHEQUE RETURNED,,135.50,50000009\r\n"),
        "bank_csv",
        mapping=bank_mapping,
    )
    assert receipt_allocation_lines(receipt) == {}
    journals = Journal.objects.count()

    with pytest.raises(ValidationError) as refusal:
        reverse_receipt(council=council_a, receipt=receipt, reason="bounced", acting_user=None)

    assert refusal.value.messages == [
        f"{receipt.number} holds no money now: all of it was taken back by a debit."
    ]
    assert Journal.objects.count() == journals


def test_explaining_a_debit_from_a_split_receipt_keeps_each_lines_reference(
    council_a, parking, bank_mapping, manager, split_receipt
):
    receipt, _ = split_receipt
    batch = imported(
        council_a,
        csv_file("20/11/2026,DD RETURN,,120.00,UNPAID\r\n"),
        "bank_csv",
        mapping=bank_mapping,
    )
    resolve_unexplained_debit(
        council=council_a,
        debit=UnexplainedDebit.objects.get(batch=batch),
        resolution="receipt",
        receipt=receipt,
        reason="Returned cheque",
        acting_user=manager,
    )
    assert receipt_allocation_lines(receipt) == {HeldLine(parking.pk, "PCN000123"): 1_550}
    assert_ledger_agrees_with_the_worklists()


def test_an_import_whose_debit_took_from_a_receipt_reversed_since_cannot_be_reversed(
    council_a, parking, bank_mapping, manager
):
    receipt = paid(parking, 4_000, "PCN000001", "card-1")
    batch = imported(
        council_a,
        csv_file("20/11/2026,CHEQUE RETURNED,,15.00,PCN000001\r\n"),
        "bank_csv",
        mapping=bank_mapping,
    )
    reverse_receipt(council=council_a, receipt=receipt, reason="bounced", acting_user=None)
    journals = Journal.objects.count()

    with pytest.raises(ValidationError) as refusal:
        reverse_import(council=council_a, batch=batch, reason="wrong file", acting_user=manager)

    # Reversing would put £15 back into a receipt that holds nothing and counts for nothing.
    assert refusal.value.messages == [
        f"Import {batch.pk} cannot be reversed: line 2 took £15.00 back from "
        f"{receipt.number}, which has since been reversed, and reversing the import would put "
        "that money back into a reversed receipt."
    ]
    assert Journal.objects.count() == journals
    assert receipt_allocation_lines(receipt) == {}
    assert account_balance(fund_account(parking)) == 0


def test_an_import_with_a_live_refund_beside_a_rejected_one_cannot_be_reversed(
    council_a, parking, bank_mapping, officer, manager
):
    batch = imported(
        council_a,
        csv_file("20/11/2026,BGC,40.00,,PCN000001\r\n"),
        "bank_csv",
        mapping=bank_mapping,
    )
    receipt = batch.receipts.get()
    refused = raise_refund(
        council=council_a,
        receipt=receipt,
        fund=parking,
        amount_pence=1_000,
        reason="Paid twice",
        acting_user=officer,
    )
    reject_refund(council=council_a, refund=refused, acting_user=manager, note="Not paid twice")
    raise_refund(
        council=council_a,
        receipt=receipt,
        fund=parking,
        amount_pence=500,
        reason="Overpaid",
        acting_user=officer,
    )
    journals = Journal.objects.count()

    with pytest.raises(ValidationError) as refusal:
        reverse_import(council=council_a, batch=batch, reason="wrong file", acting_user=manager)

    assert refusal.value.messages == [
        f"Receipts from this import have refunds raised against them ({receipt.number}); "
        "settle those first."
    ]
    assert Journal.objects.count() == journals
    receipt.refresh_from_db()
    assert receipt.status == "active"


def test_someone_who_works_other_funds_cannot_take_a_debit_back_from_this_ones_receipt(
    council_a, parking, open_debit, manager
):
    parking.group = FundGroup.objects.create(name="Parking")
    parking.save()
    FundGroupAccess.objects.create(user=manager, group=FundGroup.objects.create(name="Revenues"))
    receipt = paid(parking, 10_000, "PCN000009", "r")
    journals = Journal.objects.count()

    with pytest.raises(PermissionDenied) as refusal:
        resolve_unexplained_debit(
            council=council_a,
            debit=open_debit,
            resolution="receipt",
            receipt=receipt,
            reason="Returned cheque",
            acting_user=manager,
        )

    assert str(refusal.value) == f"Receipt {receipt.number} holds money of funds you do not work."
    open_debit.refresh_from_db()
    assert open_debit.status == "open"
    assert Journal.objects.count() == journals
    assert receipt_allocation(receipt) == {parking.pk: 10_000}


def test_an_explanation_that_was_wrong_is_undone_and_the_debit_explained_again(
    council_a, parking, open_debit, manager
):
    council_tax = FundFactory(code="CTAX", name="Council Tax")
    wrong = resolve_unexplained_debit(
        council=council_a,
        debit=open_debit,
        resolution="fund",
        fund=parking,
        reason="Parking refund",
        acting_user=manager,
    )

    undone = reopen_unexplained_debit(
        council=council_a,
        debit=open_debit,
        reason="It was a Council Tax refund",
        acting_user=manager,
    )

    assert undone.reverses == wrong
    assert sum(p.amount_pence for p in undone.postings.all()) == 0
    open_debit.refresh_from_db()
    assert (open_debit.status, open_debit.journal, open_debit.fund) == ("open", None, None)
    assert account_balance(fund_account(parking)) == 0
    assert unexplained_debits_balance() == open_debits_total().pence == 4_500
    event = AuditEvent.objects.get(action="unexplained_debit.reopened")
    assert (event.before["journal"], event.before["fund"]) == (wrong.pk, "PARK")
    resolve_unexplained_debit(
        council=council_a,
        debit=open_debit,
        resolution="fund",
        fund=council_tax,
        reason="Council Tax refund",
        acting_user=manager,
    )
    assert account_balance(fund_account(council_tax)) == 4_500
    assert account_balance(fund_account(parking)) == 0
    assert_ledger_agrees_with_the_worklists()


def test_an_explanation_is_undone_only_with_a_reason_and_never_into_a_reversed_receipt(
    council_a, parking, open_debit, manager
):
    receipt = paid(parking, 10_000, "PCN000009", "r")
    resolve_unexplained_debit(
        council=council_a,
        debit=open_debit,
        resolution="receipt",
        receipt=receipt,
        reason="Returned cheque",
        acting_user=manager,
    )
    with pytest.raises(ValidationError) as no_reason:
        reopen_unexplained_debit(
            council=council_a, debit=open_debit, reason=" ", acting_user=manager
        )
    assert no_reason.value.messages == ["Say why the explanation was wrong."]
    reverse_receipt(council=council_a, receipt=receipt, reason="bounced", acting_user=None)
    journals = Journal.objects.count()

    with pytest.raises(ValidationError) as refusal:
        reopen_unexplained_debit(
            council=council_a, debit=open_debit, reason="Wrong receipt", acting_user=manager
        )

    assert refusal.value.messages == [
        f"The debit of £45.00 on line 2 of import {open_debit.batch_id} was taken back from "
        f"{receipt.number}, which has since been reversed: undoing it would put the money back "
        "into a reversed receipt."
    ]
    assert Journal.objects.count() == journals
    open_debit.refresh_from_db()
    assert open_debit.status == "resolved"


def test_a_manager_undoes_an_explanation_through_the_page(council_a, parking, open_debit, manager):
    resolve_unexplained_debit(
        council=council_a,
        debit=open_debit,
        resolution="fees",
        reason="Bank charge",
        acting_user=manager,
    )
    client = host_client(council_a)
    sign_in(client, manager)
    page = f"/unexplained-debits/{open_debit.pk}/"

    refused = client.post(page, {"decision": "reopen", "reason": ""})
    assert 'href="#reason">Say why the explanation was wrong.' in refused.content.decode()

    done = client.post(page, {"decision": "reopen", "reason": "Not a charge"})
    assert done.status_code == 302
    open_debit.refresh_from_db()
    assert open_debit.status == "open"
    assert "Explain the debit" in client.get(page).content.decode()
