"""Payment-file formats: what each reads, every bad line listed with its reason, and no
input (however broken) makes a parser crash."""

import datetime
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from income.formats import allpay, bacs_standard18
from income.formats.records import (
    CsvMappingSpec,
    FileRefused,
    FileTotals,
    PaymentRecord,
    ReadOptions,
    RejectedLine,
)
from income.formats.registry import FORMATS, read_file

DAY = datetime.date(2026, 11, 20)


def _allpay(lines: list[str], *, total: int | None = None, count: int | None = None) -> bytes:
    body = list(lines)
    if total is not None:
        body += allpay.write_trailer(total_pence=total, count=count or 0)
    return ("\r\n".join(body) + "\r\n").encode("latin-1")


def _read(name: str, data: bytes, **options) -> tuple[list[PaymentRecord], list[RejectedLine]]:
    items = list(read_file(name, io.BytesIO(data), options=ReadOptions(**options)))
    records = [item for item in items if isinstance(item, PaymentRecord)]
    rejected = [item for item in items if isinstance(item, RejectedLine)]
    return records, rejected


def _totals(name: str, data: bytes, **options) -> FileTotals:
    """The file's own totals: yielded once, after its last line."""
    items = list(read_file(name, io.BytesIO(data), options=ReadOptions(**options)))
    assert [type(item) for item in items].count(FileTotals) == 1
    assert isinstance(items[-1], FileTotals)
    return items[-1]


def _line(reference: str, pence: int, letter: str = "P", narrative: str = "") -> str:
    return allpay.write_line(
        reference=reference, amount_pence=pence, letter=letter, date=DAY, narrative=narrative
    )


def test_allpay_reads_each_field_the_bern_reference_and_reversing_channels():
    data = _allpay(
        [
            _line("BERN500000004", 12345, "P", "ABC"),
            _line("12345678", 1000, "T"),
            _line("87654321", 500, "C"),
            _line("11111111", 250, "Q"),
        ],
        total=12345 + 1000 - 500 - 250,
        count=4,
    )
    records, rejected = _read("allpay", data)
    assert rejected == []
    assert [(r.reference, r.amount_pence, r.channel_code) for r in records] == [
        ("500000004", 12345, "ALLPAY-PO"),
        ("12345678", 1000, "ALLPAY-PP"),
        ("87654321", -500, "ALLPAY-ADJ"),
        ("11111111", -250, "ALLPAY-RQ"),
    ]
    assert records[0].narrative == "ABC"
    assert records[0].received_on == DAY


def test_allpay_bad_lines_are_listed_with_reasons_and_the_good_ones_still_read():
    good = _line("12345678", 1000)
    data = _allpay(
        [
            good,
            good[:23] + "   12x.45" + good[32:],
            good[:33] + "31/02/2026",
            good[:33] + "2026-11-20",
            good + "EXTRA",
            good[:32] + "X" + good[33:],
            good,
        ],
        total=6000,
        count=7,
    )
    records, rejected = _read("allpay", data)
    assert [r.line_number for r in records] == [1, 7]
    assert [(r.line_number, r.reason) for r in rejected] == [
        (2, 'the amount "12x.45" (characters 24-32) is not pounds and pence like 123.45'),
        (3, "31/02/2026 is not a real date"),
        (4, 'the date "2026-11-20" is not written dd/mm/yyyy'),
        (5, "the line is 48 characters long; allpay transaction lines are 43"),
        (6, '"X" (character 33) is not an allpay channel (P, T, Z, N, B, C or Q)'),
    ]


def test_allpay_trailer_totals_must_agree_and_the_trailer_is_no_rejected_line():
    data = _allpay([_line("12345678", 1000), _line("12345679", 2000)], total=3100, count=3)
    records, rejected = _read("allpay", data)
    assert len(records) == 2
    assert rejected == []
    assert _totals("allpay", data).problems == [
        "Total Transactions says 3 but the file has 2 transaction lines: lines are missing or "
        "extra.",
        "Total Amount says £31.00 but the transaction lines add up to £30.00.",
    ]


def test_an_allpay_trailer_one_penny_out_is_a_problem_showing_both_totals():
    lines = [_line("12345678", 1000), _line("12345679", 2001)]
    assert _totals("allpay", _allpay(lines, total=3001, count=2)).problems == []
    assert _totals("allpay", _allpay(lines, total=3000, count=2)).problems == [
        "Total Amount says £30.00 but the transaction lines add up to £30.01."
    ]


def test_a_truncated_allpay_file_is_said_to_be_truncated():
    data = _allpay([_line("12345678", 1000)])
    records, rejected = _read("allpay", data)
    assert len(records) == 1
    assert rejected == []
    assert _totals("allpay", data).problems == [
        "The file ends without its Total Amount and Total Transactions line: it may be cut "
        "short. It has 1 transaction line adding up to £10.00; check with allpay that every "
        "payment arrived."
    ]


def test_an_allpay_line_with_a_minus_sign_is_money_taken_back_not_a_rejected_line():
    data = _allpay(
        [_line("12345678", 1000), _line("87654321", -250, "P"), _line("11111111", -100, "C")],
        total=1000 - 250 - 100,
        count=3,
    )
    assert data.splitlines()[1][23:32] == b"    -2.50"
    records, rejected = _read("allpay", data)
    assert rejected == []
    assert [(r.reference, r.amount_pence, r.channel_code) for r in records] == [
        ("12345678", 1000, "ALLPAY-PO"),
        ("87654321", -250, "ALLPAY-PO"),
        ("11111111", -100, "ALLPAY-ADJ"),
    ]
    assert _totals("allpay", data).problems == []


def test_wrong_encoding_empty_and_other_formats_are_refused_with_a_message():
    text = "\r\n".join([_line("12345678", 1000), *allpay.write_trailer(total_pence=1000, count=1)])
    with pytest.raises(FileRefused, match="wrong encoding"):
        _read("allpay", text.encode("utf-16"))
    with pytest.raises(FileRefused, match="The file is empty"):
        _read("allpay", b"")
    with pytest.raises(FileRefused, match="looks like a file of another format"):
        _read("allpay", CAMT.replace("{entries}", _entry("10.00")).encode())


def test_a_non_ascii_byte_rejects_its_line_only():
    good = _line("12345678", 1000)
    data = _allpay([good, good.replace("12345678", "1234567\xe9")], total=2000, count=2)
    records, rejected = _read("allpay", data)
    assert len(records) == 1
    assert rejected[0].line_number == 2
    assert rejected[0].reason.startswith("character 15 is not plain text (byte 0xE9)")


def test_bacs_standard18_reads_direct_debits_and_lists_contras():
    lines = [
        "UHL1 26324999999    000000001 DAILY  000",
        bacs_standard18.write_record(reference="50000004", amount_pence=4250, payer_name="J SMITH"),
        bacs_standard18.write_record(reference="CONTRA", amount_pence=4250, payer_name="X"),
        bacs_standard18.write_record(reference="X", amount_pence=1, payer_name="Y", code="Z4"),
        bacs_standard18.write_record(reference="12", amount_pence=5, payer_name="Y")[:90],
    ]
    records, rejected = _read("bacs18", ("\n".join(lines) + "\n").encode())
    assert [(r.reference, r.amount_pence, r.payer_name, r.channel_code) for r in records] == [
        ("50000004", 4250, "J SMITH", "DD")
    ]
    assert records[0].received_on == datetime.date(2026, 11, 20)
    assert [r.reason for r in rejected] == [
        "a contra record (the file's balancing entry), not a payment",
        'transaction code "Z4" is not a payment in (01, 17, 18, 19 or 99)',
        "the record is 90 characters long; Standard 18 records are 100",
    ]


CAMT = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
<GrpHdr><MsgId>1</MsgId><CreDtTm>2026-11-20T10:00:00</CreDtTm></GrpHdr>
<Stmt><Id>S1</Id><Acct><Id><IBAN>GB00TEST</IBAN></Id><Ccy>GBP</Ccy></Acct>
{entries}
</Stmt></BkToCstmrStmt></Document>"""


def _entry(amount: str, *, ccy: str = "GBP", direction: str = "CRDT", ref: str = "50000004",
           reversal: bool = False) -> str:  # fmt: skip
    return f"""<Ntry><Amt Ccy="{ccy}">{amount}</Amt><CdtDbtInd>{direction}</CdtDbtInd>
{"<RvslInd>true</RvslInd>" if reversal else ""}<Sts>BOOK</Sts>
<BookgDt><Dt>2026-11-20</Dt></BookgDt><ValDt><Dt>2026-11-20</Dt></ValDt>
<NtryDtls><TxDtls><RltdPties><Dbtr><Nm>J Smith</Nm></Dbtr></RltdPties>
<RmtInf><Ustrd>{ref} COUNCIL TAX</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"""


def test_camt053_reads_credits_debits_reversals_and_refuses_other_currencies():
    entries = "".join(
        [
            _entry("42.50"),
            _entry("10.00", direction="DBIT", reversal=True),
            _entry("5.00", ccy="EUR"),
            _entry("abc"),
        ]
    )
    records, rejected = _read("camt053", CAMT.replace("{entries}", entries).encode())
    assert [(r.amount_pence, r.reference, r.payer_name) for r in records] == [
        (4250, "50000004", "J Smith"),
        (-1000, "50000004", "J Smith"),
    ]
    assert records[1].narrative.startswith("Reversal:")
    assert [(r.line_number, r.reason) for r in rejected] == [
        (3, "the amount is in EUR; Counterfoil takes pounds sterling (GBP) only"),
        (4, 'the amount "abc" is not a number'),
    ]


def test_camt053_refuses_xml_bombs_and_external_entities():
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        "<Document><BkToCstmrStmt>&lol2;</BkToCstmrStmt></Document>"
    )
    xxe = (
        '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        "<Document><BkToCstmrStmt>camt.053 &x;</BkToCstmrStmt></Document>"
    )
    for attack in (bomb, xxe):
        with pytest.raises(FileRefused, match="declares a document type or entities"):
            _read("camt053", attack.encode())


def test_camt053_truncated_is_refused():
    data = CAMT.replace("{entries}", _entry("1.00")).encode()[:-40]
    with pytest.raises(FileRefused, match="not a complete XML document"):
        _read("camt053", data)


MT940 = """:20:STATEMENT1
:25:20000012345678
:28C:00001/001
:60F:C261120{ccy}1000,00
:61:2611201120C123,45NTRF50000004//BANKREF
:86:COUNCIL TAX J SMITH
:61:2611201120D10,00NTRFNONREF
:86:RETURNED 12345678
:62F:C261120{ccy}1113,45
"""


def test_mt940_reads_credits_and_debits_and_refuses_other_currencies():
    records, rejected = _read("mt940", MT940.replace("{ccy}", "GBP").encode())
    assert rejected == []
    assert [(r.line_number, r.amount_pence, r.reference) for r in records] == [
        (5, 12345, "50000004"),
        (7, -1000, "RETURNED"),
    ]
    with pytest.raises(FileRefused, match="account in EUR"):
        _read("mt940", MT940.replace("{ccy}", "EUR").encode())


BANK_MAPPING = CsvMappingSpec(
    header_rows=1,
    date_format="%d/%m/%Y",
    date_column=1,
    narrative_column=2,
    credit_column=3,
    debit_column=4,
    reference_column=5,
)


def test_bank_csv_with_separate_money_in_and_out_columns_and_formula_cells():
    data = (
        b"Date,Description,Paid in,Paid out,Reference\r\n"
        b"20/11/2026,BGC J SMITH,42.50,,50000004\r\n"
        b"20/11/2026,DD RETURN,,10.00,12345678\r\n"
        b'21/11/2026,NICE,"1,000.00",,=HYPERLINK("http://evil")\r\n'
        b"32/11/2026,BAD DATE,1.00,,1\r\n"
        b"22/11/2026,BAD AMOUNT,abc,,1\r\n"
    )
    records, rejected = _read("bank_csv", data, mapping=BANK_MAPPING)
    # A cell that looks like a formula is the line's text like any other: the money is kept.
    assert [(r.line_number, r.amount_pence, r.reference) for r in records] == [
        (2, 4250, "50000004"),
        (3, -1000, "12345678"),
        (4, 100_000, '=HYPERLINK("http://evil")'),
    ]
    assert [(r.line_number, r.reason) for r in rejected] == [
        (5, 'the date "32/11/2026" is not a real date written as the mapping says (%d/%m/%Y)'),
        (6, 'the money in "abc" is not a number of pounds and pence'),
    ]


def test_a_csv_payer_that_looks_like_a_formula_is_imported_as_written():
    mapping = CsvMappingSpec(
        date_column=1, amount_column=2, reference_column=3, payer_name_column=4
    )
    data = b"Date,Amount,Ref,Payer\r\n20/11/2026,12.00,PCN000001,=SUM(1)\r\n"
    records, rejected = _read("bank_csv", data, mapping=mapping)
    assert rejected == []
    assert [(r.payer_name, r.amount_pence) for r in records] == [("=SUM(1)", 1200)]


def test_generic_csv_needs_a_mapping():
    with pytest.raises(FileRefused, match="Choose the column mapping"):
        _read("generic_csv", b"a,b,c\n")


@pytest.mark.parametrize("name", sorted(FORMATS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.one_of(st.binary(max_size=600), st.text(max_size=400).map(str.encode)))
def test_no_bytes_make_a_parser_crash(name, data):
    try:
        for item in read_file(name, io.BytesIO(data), options=ReadOptions(mapping=BANK_MAPPING)):
            assert isinstance(item, PaymentRecord | RejectedLine | FileTotals)
            if isinstance(item, FileTotals):
                assert all(problem.strip() for problem in item.problems)
    except FileRefused as refusal:
        assert str(refusal)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(alphabet="0123456789ABCDEF ", max_size=16),
            st.integers(min_value=-(10**8), max_value=10**8),
            st.sampled_from("PTZNBCQX1 "),
            st.text(alphabet="0123456789/", min_size=0, max_size=12),
        ),
        max_size=20,
    )
)
def test_allpay_lines_built_from_pieces_never_crash_and_are_all_accounted_for(pieces):
    lines = [
        f"{'NARR':<7}{ref:<16}{f'{pence / 100:.2f}':>9}{letter}{date}"
        for ref, pence, letter, date in pieces
    ]
    data = _allpay(lines, total=0, count=len(lines))
    records, rejected = _read("allpay", data) if lines else ([], [])
    transaction_lines = {r.line_number for r in records} | {
        r.line_number for r in rejected if r.line_number <= len(lines)
    }
    assert transaction_lines == set(range(1, len(lines) + 1))


@settings(max_examples=150, deadline=None)
@given(data=st.one_of(st.binary(max_size=600), st.text(max_size=400).map(str.encode)))
def test_no_bytes_make_the_arudd_parser_crash(data):
    from income.formats import arudd

    try:
        for item in arudd.read(io.BytesIO(data)):
            assert isinstance(item, arudd.ReturnedDebitItem | RejectedLine)
    except FileRefused as refusal:
        assert str(refusal)
