"""What each format says of a file besides its lines: a camt.053 entry that batches several
payments split into them, each line's identity in its own format, the file's own totals and
balances (FileTotals), and debit/credit marks that keep their meaning."""

import datetime
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from income.formats import allpay, bacs_standard18
from income.formats.records import (
    CsvMappingSpec,
    FileTotals,
    PaymentRecord,
    ReadOptions,
    RejectedLine,
)
from income.formats.registry import read_file

DAY = datetime.date(2026, 11, 20)


def _items(name: str, data: bytes, **options) -> list:
    return list(read_file(name, io.BytesIO(data), options=ReadOptions(**options)))


def _records(name: str, data: bytes, **options) -> list[PaymentRecord]:
    return [i for i in _items(name, data, **options) if isinstance(i, PaymentRecord)]


def _rejected(name: str, data: bytes, **options) -> list[RejectedLine]:
    return [i for i in _items(name, data, **options) if isinstance(i, RejectedLine)]


def _totals(name: str, data: bytes, **options) -> FileTotals:
    items = _items(name, data, **options)
    assert isinstance(items[-1], FileTotals)
    assert sum(isinstance(i, FileTotals) for i in items) == 1
    return items[-1]


# camt.053 ---------------------------------------------------------------------------------

CAMT = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
<GrpHdr><MsgId>{msg}</MsgId><CreDtTm>2026-11-20T10:00:00</CreDtTm></GrpHdr>
<Stmt><Id>S1</Id><Acct><Id><IBAN>GB00TEST</IBAN></Id><Ccy>GBP</Ccy></Acct>
{balances}{entries}
</Stmt></BkToCstmrStmt></Document>"""


def _camt(entries: str, *, msg: str = "M1", balances: str = "") -> bytes:
    return CAMT.format(msg=msg, balances=balances, entries=entries).encode()


def _balance(code: str, amount: str, direction: str = "CRDT") -> str:
    return (
        f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>"
        f'<Amt Ccy="GBP">{amount}</Amt><CdtDbtInd>{direction}</CdtDbtInd>'
        "<Dt><Dt>2026-11-20</Dt></Dt></Bal>"
    )


def _tx(ref: str, payer: str, amount: str | None, *, tx_ref: str = "") -> str:
    amount_xml = (
        f'<AmtDtls><TxAmt><Amt Ccy="GBP">{amount}</Amt></TxAmt></AmtDtls>' if amount else ""
    )
    refs = f"<Refs><AcctSvcrRef>{tx_ref}</AcctSvcrRef></Refs>" if tx_ref else ""
    return (
        f"<TxDtls>{refs}{amount_xml}<RltdPties><Dbtr><Nm>{payer}</Nm></Dbtr></RltdPties>"
        f"<RmtInf><Ustrd>{ref} PAYMENT</Ustrd></RmtInf></TxDtls>"
    )


def _ntry(amount: str, details: str = "", *, ref: str = "BANKREF1", direction="CRDT") -> str:
    return (
        f'<Ntry><Amt Ccy="GBP">{amount}</Amt><CdtDbtInd>{direction}</CdtDbtInd>'
        f"<Sts>BOOK</Sts><BookgDt><Dt>2026-11-20</Dt></BookgDt>"
        f"<AcctSvcrRef>{ref}</AcctSvcrRef><NtryDtls>{details}</NtryDtls></Ntry>"
    )


BATCH = _ntry(
    "165.00",
    _tx("50000004", "J Smith", "100.00")
    + _tx("PCN123456", "A Patel", "35.00")
    + _tx("RENT0001", "N Jones", "30.00"),
)


def test_a_camt_entry_of_three_payments_is_three_lines_each_with_its_own_payer_and_amount():
    data = _camt(_ntry("10.00", _tx("11111111", "O Smith", None), ref="SOLO") + BATCH)

    records = _records("camt053", data)

    assert [(r.line_number, r.reference, r.payer_name, r.amount_pence) for r in records] == [
        (1, "11111111", "O Smith", 1000),
        (2, "50000004", "J Smith", 10000),
        (3, "PCN123456", "A Patel", 3500),
        (4, "RENT0001", "N Jones", 3000),
    ]
    assert [r.identity for r in records] == [
        "camt053:SOLO:#1",
        "camt053:BANKREF1:#1",
        "camt053:BANKREF1:#2",
        "camt053:BANKREF1:#3",
    ]
    assert _rejected("camt053", data) == []


def test_a_batched_camt_entry_whose_payments_do_not_add_up_is_refused_whole_with_both_sums():
    short = _ntry("165.00", _tx("50000004", "J Smith", "100.00") + _tx("PCN1", "A", "64.99"))
    data = _camt(short + _ntry("5.00", _tx("22222222", "B", None), ref="NEXT"))

    rejected = _rejected("camt053", data)

    assert [(r.line_number, r.reason) for r in rejected] == [
        (
            1,
            "the entry's 2 payments (<TxDtls>) add up to £164.99 but the entry is for "
            "£165.00: none of them was imported, as which payer paid what cannot be known",
        )
    ]
    # Nothing of the entry is a record; the next entry is read as usual.
    assert [(r.line_number, r.reference) for r in _records("camt053", data)] == [(2, "22222222")]


def test_a_batched_camt_entry_with_a_payment_of_no_amount_is_refused_whole():
    entry = _ntry("165.00", _tx("50000004", "J Smith", "100.00") + _tx("PCN1", "A", None))
    assert [r.reason for r in _rejected("camt053", _camt(entry))] == [
        "payment 2 of the entry's 2 (<TxDtls>) has no amount in pounds and pence, so the "
        "entry cannot be split into its payments: none of them was imported"
    ]


def test_a_reconciliation_reads_a_batched_camt_entry_as_the_banks_one_movement():
    records = _records("camt053", _camt(BATCH), one_line_per_entry=True)
    assert [(r.line_number, r.amount_pence) for r in records] == [(1, 16500)]


def test_camt_payments_with_their_own_references_are_known_by_them():
    entry = _ntry(
        "3.00",
        _tx("A", "P", "1.00", tx_ref="TX-A") + _tx("B", "Q", "2.00", tx_ref="TX-B"),
        ref="E9",
    )
    assert [r.identity for r in _records("camt053", _camt(entry))] == [
        "camt053:E9:TX-A",
        "camt053:E9:TX-B",
    ]


def test_camt_balances_must_agree_with_the_entries_and_the_statement_is_named():
    entries = BATCH + _ntry("15.00", _tx("X", "Y", None), ref="R2", direction="DBIT")
    good = _balance("OPBD", "1000.00") + _balance("CLBD", "1150.00")
    totals = _totals("camt053", _camt(entries, balances=good))
    assert totals.problems == []
    assert totals.statement_id == "M1/S1"

    bad = _balance("OPBD", "1000.00") + _balance("CLBD", "1150.01")
    assert _totals("camt053", _camt(entries, balances=bad)).problems == [
        "Statement S1: the opening balance £1,000.00 and the booked entries (£150.00) come to "
        "£1,150.00, but the closing balance is £1,150.01."
    ]


def test_camt_without_balances_cannot_be_checked_and_is_not_held_for_it():
    assert _totals("camt053", _camt(BATCH)).problems == []


# MT940 ------------------------------------------------------------------------------------

MT940 = """:20:STATEMENT1
:25:20000012345678
:28C:00001/001
:60F:C261120GBP1000,00
:61:2611201120C123,45NTRF50000004//BANKREF1
:86:COUNCIL TAX J SMITH
:61:2611201120RC20,00NTRFPCN123456//BANKREF2
:86:REVERSAL OF CREDIT
:61:2611201120RD5,00NTRFNONREF//BANKREF3
:86:REVERSAL OF DEBIT
:61:2611201120D10,00NTRFNONREF
:86:RETURNED 12345678
:62F:C{closing}
"""


def _mt940(closing: str = "261120GBP1098,45") -> bytes:
    return MT940.format(closing=closing).encode()


def test_mt940_reversal_marks_keep_their_meaning():
    records = _records("mt940", _mt940())
    assert [(r.reference, r.amount_pence) for r in records] == [
        ("50000004", 12345),
        ("PCN123456", -2000),  # RC: a credit reversed, money out
        ("REVERSAL", 500),  # RD: a debit reversed, money in
        ("RETURNED", -1000),
    ]
    assert records[1].narrative.startswith("Reversal:")
    assert records[0].identity == "mt940:2026-11-20:12345:BANKREF1"
    assert records[3].identity == "mt940:2026-11-20:-1000:RETURNED:RETURNED 12345678"


def test_mt940_balances_must_agree_with_the_lines_and_the_statement_is_named():
    totals = _totals("mt940", _mt940())
    assert (totals.statement_id, totals.problems) == ("STATEMENT1/00001/001", [])
    assert _totals("mt940", _mt940("261120GBP1098,44")).problems == [
        "Statement STATEMENT1/00001/001: the opening balance £1,000.00 and the :61: lines "
        "(£98.45) come to £1,098.45, but the closing balance is £1,098.44."
    ]


def test_an_mt940_cut_off_in_a_statement_line_is_a_problem_and_the_line_is_listed():
    text = _mt940().decode()
    cut = text[: text.index(":61:2611201120D10") + len(":61:26112")]

    records = _records("mt940", cut.encode())
    rejected = _rejected("mt940", cut.encode())

    assert [r.amount_pence for r in records] == [12345, -2000, 500]
    assert [(r.line_number, r.reason) for r in rejected] == [
        (11, "this :61: line could not be read")
    ]
    assert _totals("mt940", cut.encode()).problems == [
        "Statement STATEMENT1/00001/001 has no closing balance (:62F: or :62M:): the file may "
        "be cut off. Its :61: lines add up to £108.45 (1 :61: line that could not be read not "
        "counted)."
    ]


def test_an_mt940_without_its_closing_balance_is_a_problem():
    text = _mt940().decode()
    cut = text[: text.index(":62F:")]
    assert _totals("mt940", cut.encode()).problems == [
        "Statement STATEMENT1/00001/001 has no closing balance (:62F: or :62M:): the file may "
        "be cut off. Its :61: lines add up to £98.45."
    ]


# BACS Standard 18 -------------------------------------------------------------------------


def _bacs(*, contra: int, utl1: str | None = None) -> bytes:
    lines = [
        "UHL1 26324999999    000000001 DAILY  000",
        bacs_standard18.write_record(reference="50000004", amount_pence=4250, payer_name="A"),
        bacs_standard18.write_record(reference="50000005", amount_pence=1000, payer_name="B"),
        bacs_standard18.write_record(
            reference="CONTRA", amount_pence=contra, payer_name="COUNCIL", code="99"
        ),
    ]
    if utl1 is not None:
        lines.append(utl1)
    return ("\r\n".join(lines) + "\r\n").encode()


def test_bacs_contra_must_balance_the_records():
    assert _totals("bacs18", _bacs(contra=5250)).problems == []
    assert _totals("bacs18", _bacs(contra=5249)).problems == [
        "The contra records come to £52.49 but the records they balance add up to £52.50: "
        "records are missing, extra or damaged."
    ]


def test_bacs_utl1_totals_must_be_the_files():
    right = bacs_standard18.write_utl1(debit_pence=5250, credit_pence=5250, debits=2, credits=1)
    assert _totals("bacs18", _bacs(contra=5250, utl1=right)).problems == []
    wrong = bacs_standard18.write_utl1(debit_pence=5251, credit_pence=5250, debits=2, credits=1)
    assert _totals("bacs18", _bacs(contra=5250, utl1=wrong)).problems == [
        "The UTL1 label says 2 records of debits totalling £52.51 and 1 record of credits "
        "totalling £52.50, but the file has 2 records of debits totalling £52.50 and 1 record "
        "of credits totalling £52.50."
    ]


# Identities -------------------------------------------------------------------------------

MAPPING = CsvMappingSpec(date_column=1, amount_column=2, reference_column=3, payer_name_column=4)


def _ids(name: str, data: bytes, **options) -> list[str]:
    return [r.identity for r in _records(name, data, **options)]


def test_every_format_gives_each_line_an_identity_led_by_the_formats_name():
    allpay_line = allpay.write_line(reference="12345678", amount_pence=1000, letter="P", date=DAY)
    cases = {
        "allpay": _ids("allpay", (allpay_line + "\n").encode()),
        "bacs18": _ids("bacs18", _bacs(contra=5250)),
        "camt053": _ids("camt053", _camt(BATCH)),
        "mt940": _ids("mt940", _mt940()),
        "bank_csv": _ids("bank_csv", b"h\n20/11/2026,1.00,R1,P\n", mapping=MAPPING),
        "generic_csv": _ids("generic_csv", b"h\n20/11/2026,1.00,R1,P\n", mapping=MAPPING),
    }
    for name, identities in cases.items():
        assert identities, name
        assert all(identity.startswith(f"{name}:") for identity in identities), name
        assert len(set(identities)) == len(identities), name
    assert cases["allpay"] == [f"allpay:{allpay_line}"]
    assert cases["bacs18"][0] == (
        "bacs18:2026-11-20:"
        + bacs_standard18.write_record(reference="50000004", amount_pence=4250, payer_name="A")
    )
    assert cases["bank_csv"] == ["bank_csv:2026-11-20\x1f100\x1fR1\x1f\x1fP"]


def test_the_same_line_in_another_file_with_other_line_endings_has_the_same_identity():
    line = allpay.write_line(reference="12345678", amount_pence=1000, letter="P", date=DAY)
    other = allpay.write_line(reference="99999999", amount_pence=5, letter="T", date=DAY)
    first = _ids("allpay", (line + "\r\n" + other + "\r\n").encode())
    second = _ids("allpay", (other + "\n" + line + "\n").encode())
    assert first[0] == second[1]

    bacs_crlf, bacs_lf = _bacs(contra=5250), _bacs(contra=5250).replace(b"\r\n", b"\n")
    assert _ids("bacs18", bacs_crlf) == _ids("bacs18", bacs_lf)

    csv_a = b"Date,Amount,Ref,Payer\r\n20/11/2026,1.00,R1,P\r\n"
    csv_b = b"Date,Amount,Ref,Payer\n19/11/2026,2.00,R0,Q\n20/11/2026,1.00,R1,P\n"
    assert (
        _ids("bank_csv", csv_a, mapping=MAPPING)[0] == _ids("bank_csv", csv_b, mapping=MAPPING)[1]
    )

    camt_a = _camt(BATCH, msg="FIRST")
    camt_b = _camt(_ntry("1.00", ref="OTHER") + BATCH, msg="SENT-AGAIN").replace(b"\n", b"\r\n")
    assert _ids("camt053", camt_a) == _ids("camt053", camt_b)[1:]

    mt_a = _mt940()
    mt_b = _mt940().replace(b":20:STATEMENT1", b":20:STATEMENT2").replace(b"\n", b"\r\n")
    assert _ids("mt940", mt_a) == _ids("mt940", mt_b)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(alphabet="0123456789ABCPN ", max_size=12),
            st.one_of(st.none(), st.integers(min_value=-10, max_value=10**6)),
        ),
        min_size=1,
        max_size=6,
    ),
    st.integers(min_value=-(10**6), max_value=10**7),
)
def test_batched_camt_entries_of_any_shape_never_crash_and_are_all_or_nothing(payments, entry):
    details = "".join(
        _tx(ref, "P", None if pence is None else f"{pence / 100:.2f}") for ref, pence in payments
    )
    data = _camt(_ntry(f"{entry / 100:.2f}", details))
    items = _items("camt053", data)
    records = [i for i in items if isinstance(i, PaymentRecord)]
    rejected = [i for i in items if isinstance(i, RejectedLine)]
    # Either the entry's payments, adding up to the entry, or one rejected line: never part.
    if records:
        assert not rejected
        assert sum(r.amount_pence for r in records) == entry
    else:
        assert len(rejected) == 1


@pytest.mark.parametrize("name", ["allpay", "bacs18", "camt053", "mt940"])
def test_formats_with_their_own_checks_yield_their_totals_last(name):
    data = {
        "allpay": (
            "\r\n".join(
                [
                    allpay.write_line(reference="1", amount_pence=100, letter="P", date=DAY),
                    *allpay.write_trailer(total_pence=100, count=1),
                ]
            ).encode()
        ),
        "bacs18": _bacs(contra=5250),
        "camt053": _camt(BATCH),
        "mt940": _mt940(),
    }[name]
    assert _totals(name, data).problems == []


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["C", "D", "RC", "RD"]), st.integers(1, 10**7)),
        min_size=1,
        max_size=8,
    ),
    st.integers(-(10**7), 10**7),
    st.integers(0, 1),
)
def test_mt940_statements_of_any_marks_balance_and_a_wrong_closing_is_caught(
    lines, opening, off_by
):
    signs = {"C": 1, "D": -1, "RC": -1, "RD": 1}
    movement = sum(signs[mark] * pence for mark, pence in lines)
    closing = opening + movement + off_by

    def balance(tag: str, pence: int) -> str:
        whole, part = divmod(abs(pence), 100)
        return f":{tag}:{'D' if pence < 0 else 'C'}261120GBP{whole},{part:02d}"

    body = [":20:S9", ":25:1", ":28C:1/1", balance("60F", opening)]
    for n, (mark, pence) in enumerate(lines):
        whole, part = divmod(pence, 100)
        body += [f":61:2611201120{mark}{whole},{part:02d}NTRFREF{n}//B{n}", f":86:LINE {n}"]
    body.append(balance("62F", closing))
    data = ("\n".join(body) + "\n").encode()

    records = _records("mt940", data)
    assert [r.amount_pence for r in records] == [signs[m] * p for m, p in lines]
    problems = _totals("mt940", data).problems
    assert bool(problems) == bool(off_by)
