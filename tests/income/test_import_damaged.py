"""A damaged file (its own totals, trailer or balances disagree with its lines) is held whole:
nothing posted, both totals and its lines on the batch page, until a finance manager imports
it anyway (with a reason, audited, posted exactly once) or cancels it (audited)."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Sum
from django_tenants.utils import schema_context

from income.actions.damaged_imports import cancel_held_import, import_held_file_anyway
from income.actions.imports import upload_import
from income.formats import allpay, bacs_standard18
from income.imports.pipeline import run_import
from income.models import (
    ImportBatch,
    ImportStatus,
    Journal,
    Posting,
    Receipt,
    ReferenceRule,
)
from tenants.audit.models import AuditEvent
from tenants.models import CouncilRole
from tests.conftest import host_client, make_member, sign_in
from tests.factories import FundFactory

DAY = datetime.date(2026, 11, 20)


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def parking(ledger):
    rule = ReferenceRule.objects.create(name="Parking", pattern=r"PCN\d{6}")
    return FundFactory(code="PARK", name="Parking Fines", reference_rule=rule)


def good(n: int, pence: int = 1_000) -> str:
    return allpay.write_line(reference=f"PCN{n:06d}", amount_pence=pence, letter="P", date=DAY)


def allpay_file(lines: list[str], *, total: int, count: int) -> bytes:
    body = lines + allpay.write_trailer(total_pence=total, count=count)
    return ("\r\n".join(body) + "\r\n").encode("latin-1")


def run(council, content: bytes, *, fmt="allpay", user=None) -> ImportBatch:
    batch = upload_import(
        council=council,
        uploaded_file=SimpleUploadedFile("file.dat", content),
        format_name=fmt,
        acting_user=user,
        default_date=DAY,
    )
    return run_import(batch.pk)


def ledger_size() -> tuple[int, int, int]:
    return Journal.objects.count(), Posting.objects.count(), Receipt.objects.count()


ONE_PENNY_OUT = allpay_file([good(1), good(2), good(3, -500)], total=1_499, count=3)
PENNY_PROBLEM = "Total Amount says £14.99 but the transaction lines add up to £15.00."


def test_an_allpay_file_a_penny_out_is_held_with_nothing_posted(council_a, parking):
    before = ledger_size()

    batch = run(council_a, ONE_PENNY_OUT)

    assert batch.status == ImportStatus.HELD
    assert batch.problems == [PENNY_PROBLEM]
    assert ledger_size() == before
    assert not batch.rejected.exists() and not batch.suspended.exists()
    assert not batch.adjustments.exists()
    assert batch.held_summary == {
        "lines_read": 3,
        "payments_in": 2,
        "pence_in": 2_000,
        "payments_out": 1,
        "pence_out": 500,
        "rejected_count": 0,
    }
    assert AuditEvent.objects.filter(action="import.held", target_id=str(batch.pk)).exists()
    # Running the task again (a redelivered message) leaves it held.
    assert run_import(batch.pk).status == ImportStatus.HELD
    assert ledger_size() == before


def test_import_anyway_posts_the_held_file_exactly_once_and_is_audited(council_a, parking, manager):
    batch = run(council_a, ONE_PENNY_OUT)
    with pytest.raises(ValidationError) as refusal:
        import_held_file_anyway(council=council_a, batch=batch, reason="  ", acting_user=manager)
    assert refusal.value.messages == [
        "Say why the file should be imported although its own totals do not agree with its lines."
    ]
    batch.refresh_from_db()
    assert batch.status == ImportStatus.HELD

    import_held_file_anyway(
        council=council_a,
        batch=batch,
        reason="allpay confirmed the trailer is wrong",
        acting_user=manager,
    )
    batch = run_import(batch.pk)

    assert batch.status == ImportStatus.COMPLETED, batch.message
    assert (batch.receipts_created, batch.receipts_pence) == (2, 2_000)
    assert (batch.adjustments_count, batch.adjustments_pence) == (1, 500)
    assert batch.problems == [PENNY_PROBLEM]
    assert (batch.decided_by_email, batch.decision_reason) == (
        manager.email,
        "allpay confirmed the trailer is wrong",
    )
    event = AuditEvent.objects.get(action="import.imported_anyway", target_id=str(batch.pk))
    assert (event.actor_email, event.reason) == (manager.email, batch.decision_reason)
    assert event.after == {"problems": [PENNY_PROBLEM]}
    posted = ledger_size()
    assert Receipt.objects.filter(import_batch=batch).aggregate(t=Sum("amount_pence"))["t"] == (
        2_000
    )

    # Exactly once: the task again, or a second decision, changes nothing.
    assert run_import(batch.pk).receipts_created == 2
    with pytest.raises(ValidationError, match="is not held waiting for a decision"):
        import_held_file_anyway(council=council_a, batch=batch, reason="x", acting_user=manager)
    assert ledger_size() == posted


def test_cancel_posts_nothing_is_audited_and_the_file_may_be_uploaded_again(
    council_a, parking, manager
):
    before = ledger_size()
    batch = run(council_a, ONE_PENNY_OUT)

    cancel_held_import(
        council=council_a, batch=batch, reason="asked for a new file", acting_user=manager
    )

    batch.refresh_from_db()
    assert batch.status == ImportStatus.CANCELLED
    assert ledger_size() == before
    event = AuditEvent.objects.get(action="import.cancelled", target_id=str(batch.pk))
    assert (event.actor_email, event.reason) == (manager.email, "asked for a new file")
    assert run_import(batch.pk).status == ImportStatus.CANCELLED
    assert ledger_size() == before
    with pytest.raises(ValidationError, match="is not held waiting for a decision"):
        import_held_file_anyway(council=council_a, batch=batch, reason="x", acting_user=manager)
    # Cancelled, the same file may come again (and is held again).
    assert run(council_a, ONE_PENNY_OUT).status == ImportStatus.HELD


@pytest.mark.parametrize("role", ["officer", "auditor"])
def test_only_those_who_review_import_exceptions_may_decide(
    council_a, parking, officer, auditor, role
):
    person = {"officer": officer, "auditor": auditor}[role]
    label = {"officer": "Income officer", "auditor": "Auditor (read-only)"}[role]
    batch = run(council_a, ONE_PENNY_OUT)

    with pytest.raises(PermissionDenied) as refusal:
        import_held_file_anyway(council=council_a, batch=batch, reason="x", acting_user=person)
    assert str(refusal.value) == f"Your role ({label}) does not allow this."
    with pytest.raises(PermissionDenied) as refusal:
        cancel_held_import(council=council_a, batch=batch, acting_user=person)
    assert str(refusal.value) == f"Your role ({label}) does not allow this."

    batch.refresh_from_db()
    assert batch.status == ImportStatus.HELD
    assert not AuditEvent.objects.filter(
        action__in=["import.imported_anyway", "import.cancelled"]
    ).exists()


MT940 = (
    ":20:S1\n:25:20000012345678\n:28C:1/1\n:60F:C261120GBP0,00\n"
    ":61:2611201120C7,50NTRFPCN000004//B1\n:86:PARKING\n"
    ":61:2611201120RC2,50NTRFPCN000004//B2\n:86:REVERSED\n"
    ":62F:C261120GBP{closing}\n"
)


def test_an_mt940_whose_balances_disagree_is_held(council_a, parking):
    before = ledger_size()
    batch = run(council_a, MT940.format(closing="5,01").encode(), fmt="mt940")
    assert batch.status == ImportStatus.HELD
    assert batch.problems == [
        "Statement S1/1/1: the opening balance £0.00 and the :61: lines (£5.00) come to £5.00, "
        "but the closing balance is £5.01."
    ]
    assert ledger_size() == before

    # Balanced, the reversal of a credit is money taken back, not a receipt.
    batch = run(council_a, MT940.format(closing="5,00").encode(), fmt="mt940")
    assert batch.status == ImportStatus.COMPLETED, batch.message
    assert (batch.receipts_created, batch.receipts_pence) == (1, 750)
    assert (batch.adjustments_count, batch.adjustments_pence) == (1, 250)


def test_an_mt940_cut_off_in_a_statement_line_is_held(council_a, parking):
    text = MT940.format(closing="5,00")
    cut = text[: text.index(":61:2611201120RC") + len(":61:26112")]
    before = ledger_size()

    batch = run(council_a, cut.encode(), fmt="mt940")

    assert batch.status == ImportStatus.HELD
    assert batch.problems == [
        "Statement S1/1/1 has no closing balance (:62F: or :62M:): the file may be cut off. "
        "Its :61: lines add up to £7.50 (1 :61: line that could not be read not counted)."
    ]
    assert ledger_size() == before


CAMT = (
    '<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">'
    "<BkToCstmrStmt><GrpHdr><MsgId>M1</MsgId></GrpHdr><Stmt><Id>S1</Id>"
    "<Acct><Ccy>GBP</Ccy></Acct>"
    '<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="GBP">0.00</Amt>'
    "<CdtDbtInd>CRDT</CdtDbtInd></Bal>"
    '<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="GBP">{closing}</Amt>'
    "<CdtDbtInd>CRDT</CdtDbtInd></Bal>"
    '<Ntry><Amt Ccy="GBP">60.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>'
    "<BookgDt><Dt>2026-11-20</Dt></BookgDt><AcctSvcrRef>E1</AcctSvcrRef><NtryDtls>"
    '<TxDtls><AmtDtls><TxAmt><Amt Ccy="GBP">25.00</Amt></TxAmt></AmtDtls>'
    "<RltdPties><Dbtr><Nm>J Smith</Nm></Dbtr></RltdPties>"
    "<RmtInf><Ustrd>PCN000001 FINE</Ustrd></RmtInf></TxDtls>"
    '<TxDtls><AmtDtls><TxAmt><Amt Ccy="GBP">35.00</Amt></TxAmt></AmtDtls>'
    "<RltdPties><Dbtr><Nm>A Patel</Nm></Dbtr></RltdPties>"
    "<RmtInf><Ustrd>NOFUND99 COUNCIL TAX</Ustrd></RmtInf></TxDtls>"
    "</NtryDtls></Ntry></Stmt></BkToCstmrStmt></Document>"
)


def test_a_camt_statement_whose_balances_disagree_is_held(council_a, parking):
    before = ledger_size()
    batch = run(council_a, CAMT.format(closing="60.01").encode(), fmt="camt053")
    assert batch.status == ImportStatus.HELD
    assert batch.problems == [
        "Statement S1: the opening balance £0.00 and the booked entries (£60.00) come to "
        "£60.00, but the closing balance is £60.01."
    ]
    assert ledger_size() == before


def test_a_batched_camt_entry_posts_each_payer_to_their_own_place(council_a, parking):
    batch = run(council_a, CAMT.format(closing="60.00").encode(), fmt="camt053")

    assert batch.status == ImportStatus.COMPLETED, batch.message
    receipts = Receipt.objects.filter(import_batch=batch).order_by("import_line_number")
    assert [(r.payer_reference, r.payer_name, r.amount_pence) for r in receipts] == [
        ("PCN000001", "J Smith", 2_500),
        ("NOFUND99", "A Patel", 3_500),
    ]
    # The parking fine reached Parking; the second payer's money did not follow it there.
    assert batch.fund_totals == [
        {"code": "PARK", "name": "Parking Fines", "count": 1, "pence": 2_500}
    ]
    assert (batch.suspense_count, batch.suspense_pence) == (1, 3_500)


def _bacs(contra: int, utl1: str | None = None) -> bytes:
    lines = [
        "UHL1 26324999999    000000001 DAILY  000",
        bacs_standard18.write_record(reference="PCN000001", amount_pence=4_250, payer_name="A"),
        bacs_standard18.write_record(
            reference="CONTRA", amount_pence=contra, payer_name="B", code="99"
        ),
    ]
    return ("\n".join(lines + ([utl1] if utl1 else [])) + "\n").encode()


def test_a_bacs_file_whose_contra_or_utl1_disagrees_is_held(council_a, parking):
    before = ledger_size()
    held = run(council_a, _bacs(4_249), fmt="bacs18")
    assert held.status == ImportStatus.HELD
    assert held.problems == [
        "The contra records come to £42.49 but the records they balance add up to £42.50: "
        "records are missing, extra or damaged."
    ]
    utl1 = bacs_standard18.write_utl1(debit_pence=4_250, credit_pence=4_250, debits=1, credits=2)
    held = run(council_a, _bacs(4_250, utl1), fmt="bacs18")
    assert held.status == ImportStatus.HELD
    assert held.problems == [
        "The UTL1 label says 1 record of debits totalling £42.50 and 2 records of credits "
        "totalling £42.50, but the file has 1 record of debits totalling £42.50 and 1 record "
        "of credits totalling £42.50."
    ]
    assert ledger_size() == before


@pytest.mark.django_db
def test_the_batch_page_shows_both_totals_and_the_lines_and_only_managers_may_decide(
    council_a, council_b
):
    from income.defaults import seed_income_defaults

    with schema_context(council_a.schema_name):
        seed_income_defaults()
        rule = ReferenceRule.objects.create(name="Parking", pattern=r"PCN\d{6}")
        FundFactory(code="PARK", name="Parking Fines", reference_rule=rule)
        batch = run(council_a, ONE_PENNY_OUT)
    officer = sign_in(host_client(council_a), make_member(council_a, CouncilRole.INCOME_OFFICER))
    manager = sign_in(host_client(council_a), make_member(council_a, CouncilRole.FINANCE_MANAGER))

    page = officer.get(f"/imports/{batch.pk}/").content.decode()
    assert "Held: the file is damaged" in page
    assert "Total Amount says £14.99 but the transaction lines add up to £15.00." in page
    assert "PCN000003" in page and "-£5.00" in page  # the lines, as read
    assert "Import anyway" not in page
    assert (
        officer.post(f"/imports/{batch.pk}/import-anyway/", {"anyway-reason": "x"}).status_code
        == 403
    )

    page = manager.get(f"/imports/{batch.pk}/").content.decode()
    assert "Import anyway" in page and "Cancel the import" in page
    assert page.count('id="id_anyway-reason"') == page.count('id="id_cancel-reason"') == 1
    refused = manager.post(f"/imports/{batch.pk}/import-anyway/", {"anyway-reason": ""})
    assert refused.status_code == 200
    assert (
        "Say why the file should be imported although its own totals do not agree with its "
        "lines." in refused.content.decode()
    )
    with schema_context(council_a.schema_name):
        assert ImportBatch.objects.get(pk=batch.pk).status == ImportStatus.HELD
    done = manager.post(
        f"/imports/{batch.pk}/import-anyway/", {"anyway-reason": "checked with allpay"}
    )
    assert done.status_code == 302
    with schema_context(council_a.schema_name):
        batch.refresh_from_db()
        assert batch.status == ImportStatus.QUEUED
        run_import(batch.pk)
    page = manager.get(f"/imports/{batch.pk}/").content.decode()
    assert "Imported although the file is damaged" in page
    assert "checked with allpay" in page

    # Cancelling through the page: nothing posted, and the page says so.
    with schema_context(council_a.schema_name):
        other_file = run(council_a, allpay_file([good(7)], total=1, count=1))
        before = ledger_size()
    cancelled = manager.post(
        f"/imports/{other_file.pk}/cancel/", {"cancel-reason": "allpay resent it"}
    )
    assert cancelled.status_code == 302
    page = manager.get(f"/imports/{other_file.pk}/").content.decode()
    assert "Cancelled on" in page and "allpay resent it" in page
    assert "Total Amount says £0.01 but the transaction lines add up to £10.00." in page
    with schema_context(council_a.schema_name):
        assert ledger_size() == before
        assert ImportBatch.objects.get(pk=other_file.pk).status == ImportStatus.CANCELLED

    # Another council's staff see nothing of it.
    other = sign_in(host_client(council_b), make_member(council_b, CouncilRole.FINANCE_MANAGER))
    assert other.get(f"/imports/{batch.pk}/").status_code == 404
    assert other.post(f"/imports/{batch.pk}/cancel/", {}).status_code == 404
