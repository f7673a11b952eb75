"""Bad files through the whole import: each gets a clear message, the valid lines of a file
with some bad lines are still imported, the bad ones are listed, and nothing is silently
dropped or doubled."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from income.actions.imports import upload_import
from income.formats import allpay, bacs_standard18
from income.imports.pipeline import run_import
from income.models import (
    CsvMapping,
    ImportAdjustment,
    ImportBatch,
    ImportStatus,
    Journal,
    Posting,
    Receipt,
    ReferenceRule,
)
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


def allpay_file(lines, *, total=None, count=None, trailer=True) -> bytes:
    body = list(lines)
    if trailer:
        body += allpay.write_trailer(total_pence=total, count=count)
    return ("\r\n".join(body) + "\r\n").encode("latin-1")


def run(council, content: bytes, *, fmt="allpay", user=None, **kwargs) -> ImportBatch:
    batch = upload_import(
        council=council,
        uploaded_file=SimpleUploadedFile("file.dat", content),
        format_name=fmt,
        acting_user=user,
        default_date=DAY,
        **kwargs,
    )
    return run_import(batch.pk)


def accounted_once(batch: ImportBatch) -> None:
    """Every line is exactly one of: a receipt, money taken back, a rejected line."""
    receipt_lines = list(
        Receipt.objects.filter(import_batch=batch).values_list("import_line_number", flat=True)
    )
    adjusted = list(
        ImportAdjustment.objects.filter(batch=batch).values_list("line_number", flat=True)
    )
    rejected = list(batch.rejected.values_list("line_number", flat=True))
    everything = receipt_lines + adjusted + rejected
    assert len(everything) == len(set(everything)) == batch.lines_read


BAD_ALLPAY = [
    pytest.param(
        [good(1), good(2) + "   "  + "X", good(3)],
        {"total": 3_000, "count": 3},
        (2, "the line is 47 characters long; allpay transaction lines are 43"),
        2,
        id="wrong line length",
    ),
    pytest.param(
        [good(1), good(2)[:23] + "    1O.00" + good(2)[32:], good(3)],
        {"total": 2_000, "count": 3},
        (2, 'the amount "1O.00" (characters 24-32) is not pounds and pence like 123.45'),
        2,
        id="non-numeric amount",
    ),
    pytest.param(
        [good(1), good(2)[:33] + "30/02/2026", good(3)],
        {"total": 3_000, "count": 3},
        (2, "30/02/2026 is not a real date"),
        2,
        id="impossible date",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("lines", "trailer", "problem", "receipts"), BAD_ALLPAY)
def test_a_bad_allpay_line_is_listed_and_the_good_ones_imported(
    council_a, parking, lines, trailer, problem, receipts
):
    content = allpay_file(lines, **trailer)
    batch = run(council_a, content)

    assert batch.status == ImportStatus.COMPLETED
    assert [(r.line_number, r.reason) for r in batch.rejected.all()] == [problem]
    assert batch.receipts_created == receipts
    assert batch.fund_totals == [
        {"code": "PARK", "name": "Parking Fines", "count": receipts, "pence": 1_000 * receipts}
    ]
    accounted_once(batch)
    # The same file again changes nothing.
    journals, postings = Journal.objects.count(), Posting.objects.count()
    with pytest.raises(ValidationError, match="already imported"):
        run(council_a, content)
    assert (Journal.objects.count(), Posting.objects.count()) == (journals, postings)


DAMAGED_ALLPAY = [
    pytest.param(
        {"trailer": False},
        "The file ends without its Total Amount and Total Transactions line: it may be cut "
        "short. It has 2 transaction lines adding up to £20.00; check with allpay that every "
        "payment arrived.",
        id="truncated",
    ),
    pytest.param(
        {"total": 2_500, "count": 2},
        "Total Amount says £25.00 but the transaction lines add up to £20.00.",
        id="wrong trailer amount",
    ),
    pytest.param(
        {"total": 2_000, "count": 5},
        "Total Transactions says 5 but the file has 2 transaction lines: lines are missing or "
        "extra.",
        id="wrong trailer count",
    ),
]


@pytest.mark.parametrize(("trailer", "problem"), DAMAGED_ALLPAY)
def test_an_allpay_file_whose_trailer_disagrees_is_held_not_imported(
    council_a, parking, trailer, problem
):
    journals, postings = Journal.objects.count(), Posting.objects.count()
    batch = run(council_a, allpay_file([good(1), good(2)], **trailer))

    assert batch.status == ImportStatus.HELD
    assert batch.problems == [problem]
    # The trailer is not a rejected line, and nothing of the file is posted.
    assert not batch.rejected.exists()
    assert (Journal.objects.count(), Posting.objects.count()) == (journals, postings)
    assert not Receipt.objects.filter(import_batch=batch).exists()


REFUSED = [
    pytest.param(
        "allpay",
        ("\r\n".join([good(1), *allpay.write_trailer(total_pence=1_000, count=1)])).encode(
            "utf-16"
        ),
        "The file is in the wrong encoding (UTF-16, or it is not a text file at all). Save it "
        "as plain text (ASCII or UTF-8) and upload it again.",
        id="wrong encoding",
    ),
    pytest.param(
        "bacs18",
        allpay_file([good(1)], total=1_000, count=1),
        "This looks like a file of another format (allpay transaction file (fixed width)), "
        "not BACS Standard 18 (100-character records). Choose that format and upload it again.",
        id="another format",
    ),
    pytest.param(
        "camt053",
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 '
        b'"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><Document>'
        b"<BkToCstmrStmt>&lol1;</BkToCstmrStmt></Document>",
        "The file declares a document type or entities (a DTD). Bank statements never do, and "
        "such declarations can be used to attack a system (an XML bomb or external entity), so "
        "the file was refused (DTDForbidden).",
        id="xml bomb",
    ),
    pytest.param(
        "camt053",
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<Document><BkToCstmrStmt>&x;</BkToCstmrStmt></Document>",
        "The file declares a document type or entities (a DTD). Bank statements never do, and "
        "such declarations can be used to attack a system (an XML bomb or external entity), so "
        "the file was refused (DTDForbidden).",
        id="external entity",
    ),
]


@pytest.mark.parametrize(("fmt", "content", "message"), REFUSED)
def test_a_file_that_cannot_be_read_at_all_is_refused_whole(
    council_a, parking, fmt, content, message
):
    receipts = Receipt.objects.count()
    batch = run(council_a, content, fmt=fmt)

    assert batch.status == ImportStatus.REFUSED
    assert batch.message == message
    assert Receipt.objects.count() == receipts
    assert not batch.rejected.exists()


def test_an_empty_file_is_refused_at_upload(council_a, parking):
    with pytest.raises(ValidationError) as refusal:
        run(council_a, b"")
    assert refusal.value.messages == ["The file is empty: there is nothing to import."]


def test_a_file_of_only_blank_lines_is_refused_as_empty(council_a, parking):
    batch = run(council_a, b"\r\n\r\n   \r\n")
    assert batch.status == ImportStatus.REFUSED
    assert batch.message == "The file is empty: there is nothing to import."


def test_a_csv_with_formula_cells_imports_them_as_the_text_they_are(council_a, parking):
    mapping = CsvMapping.objects.create(
        name="Bank",
        date_column=1,
        narrative_column=2,
        amount_column=3,
        reference_column=4,
        payer_name_column=5,
    )
    content = (
        b"Date,Details,Amount,Reference,Payer\r\n"
        b"20/11/2026,PAYMENT,10.00,PCN000001,J SMITH\r\n"
        b'20/11/2026,HACK,5.00,"=HYPERLINK(""http://x"")",\r\n'
        b"20/11/2026,@SUM(A1),6.00,PCN000002,=SUM(1)\r\n"
        b"20/11/2026,RETURNED,-4.00,PCN000001,\r\n"
        b'20/11/2026,"A\\B\tC \\N",7.00,PCN000003,\r\n'
    )
    batch = run(council_a, content, fmt="bank_csv", mapping=mapping)

    assert batch.status == ImportStatus.COMPLETED
    # A payer called "=SUM(1)" paid: the money is kept, not turned away.
    assert not batch.rejected.exists()
    assert (batch.receipts_created, batch.adjustments_count, batch.adjustments_pence) == (4, 1, 400)
    sums = Receipt.objects.get(import_batch=batch, payer_name="=SUM(1)")
    assert (sums.amount_pence, sums.payer_reference, sums.narrative) == (
        600,
        "PCN000002",
        "@SUM(A1)",
    )
    hack = Receipt.objects.get(import_batch=batch, amount_pence=500)
    assert hack.payer_reference == '=HYPERLINK("http://x")'
    assert Receipt.objects.get(import_batch=batch, amount_pence=700).narrative == "A\\B C \\N"
    accounted_once(batch)


def test_bacs_camt_and_mt940_files_import_through_the_same_pipeline(council_a, parking):
    bacs = "\n".join(
        [
            "UHL1 26324999999    000000001 DAILY  000",
            bacs_standard18.write_record(reference="PCN000001", amount_pence=4_250, payer_name="A"),
            bacs_standard18.write_record(reference="CONTRA", amount_pence=4_250, payer_name="B"),
        ]
    ).encode()
    batch = run(council_a, bacs, fmt="bacs18")
    assert (batch.receipts_created, batch.rejected_count) == (1, 1)
    assert Receipt.objects.get(import_batch=batch).channel.code == "DD"

    camt = (
        b'<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">'
        b"<BkToCstmrStmt><Stmt><Acct><Ccy>GBP</Ccy></Acct>"
        b'<Ntry><Amt Ccy="GBP">12.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-11-20'
        b"</Dt></BookgDt><NtryDtls><TxDtls><RmtInf><Ustrd>PCN000003 FINE</Ustrd></RmtInf>"
        b"</TxDtls></NtryDtls></Ntry>"
        b'<Ntry><Amt Ccy="GBP">2.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><RvslInd>true</RvslInd>'
        b"<BookgDt><Dt>2026-11-20</Dt></BookgDt></Ntry>"
        b"</Stmt></BkToCstmrStmt></Document>"
    )
    batch = run(council_a, camt, fmt="camt053")
    assert batch.status == ImportStatus.COMPLETED, batch.message
    assert (batch.receipts_created, batch.adjustments_pence, batch.suspense_count) == (1, 200, 0)
    assert batch.fund_totals[0]["pence"] == 1_200

    mt940 = (
        b":20:S1\n:25:20000012345678\n:28C:1/1\n:60F:C261120GBP0,00\n"
        b":61:2611201120C7,50NTRFPCN000004//B1\n:86:PARKING\n:62F:C261120GBP7,50\n"
    )
    batch = run(council_a, mt940, fmt="mt940")
    assert batch.status == ImportStatus.COMPLETED, batch.message
    assert (batch.receipts_created, batch.receipts_pence) == (1, 750)
    assert batch.fund_totals[0]["code"] == "PARK"


def test_a_line_without_end_is_refused_unread_and_the_rest_imported(council_a, parking):
    huge = "X" * 200_000  # no line break for 200,000 characters
    content = allpay_file([good(1), huge, good(3)], total=2_000, count=3)

    batch = run(council_a, content)

    assert [(r.line_number, r.reason) for r in batch.rejected.all()] == [
        (2, "the line is longer than 65,536 characters, so it was not read")
    ]
    assert len(batch.rejected.get().content) <= 501
    assert batch.receipts_created == 2
    accounted_once(batch)
