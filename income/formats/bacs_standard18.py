"""BACS Standard 18: 100-character payment records, optionally between 80-character labels.

Positions (1-based): 1-6 destination sort code, 7-14 destination account, 15 account type,
16-17 transaction code, 18-23 originating sort code, 24-31 originating account, 32-35 free,
36-46 amount in pence, 47-64 the originator's name, 65-82 the reference, 83-100 the
destination account name (the payer, for a Direct Debit).

Direct Debit collections (transaction codes 01, 17, 18, 19) and Bank Giro Credits (99) are
income. A contra record (the file's balancing entry) is listed, not imported. The processing
day comes from the UHL1 label (` yyddd`), else the day the file is imported.

The file checks itself, and its `FileTotals` lists each check that fails (the file is then
held, not imported): the contra records balance the others (their amounts add up to the
same), and a UTL1 label's debit and credit value totals and record counts (positions 5-17,
18-30, 31-37 and 38-44, contras included) are the file's. A line's identity is its own
content with the processing day.
"""

import datetime
from collections.abc import Iterator
from typing import BinaryIO

from income.formats.records import (
    ChannelSpec,
    FileTotals,
    PaymentRecord,
    ReadOptions,
    RejectedLine,
    check_not_empty,
    check_not_utf16,
    clean_text,
    numbered_lines,
    pence_text,
    shown,
    too_long_reason,
)

NAME = "bacs18"
TITLE = "BACS Standard 18 (100-character records)"
FIELDS = ("reference", "amount", "payer_name", "channel", "date")
NEEDS_MAPPING = False
RECORD_LENGTH = 100
LABELS = ("VOL1", "HDR1", "HDR2", "UHL1", "EOF1", "EOF2", "UTL1")
INCOME_CODES = {"01": "DD", "17": "DD", "18": "DD", "19": "DD", "99": "BANK"}
# Which side of the file each transaction code is on (for the UTL1 label's totals).
DEBIT_CODES = frozenset({"01", "17", "18", "19"})
CREDIT_CODES = frozenset({"99", "Z4", "Z5"})
CHANNELS = (
    ChannelSpec("DD", "Direct Debit", "direct_debit"),
    ChannelSpec("BANK", "Bank transfer", "bank_transfer"),
)


def looks_like(head: bytes) -> bool:
    first = head.split(b"\n", 1)[0].rstrip(b"\r")
    if first[:4] in {label.encode() for label in LABELS}:
        return True
    return (
        len(first) == RECORD_LENGTH
        and first[:14].isdigit()
        and first[35:46].isdigit()
        and first[15:17].isalnum()
    )


def _julian(text: str) -> datetime.date | None:
    text = text.strip()
    if len(text) != 5 or not text.isdigit():
        return None
    year, day = 2000 + int(text[:2]), int(text[2:])
    if not 1 <= day <= 366:
        return None
    found = datetime.date(year, 1, 1) + datetime.timedelta(days=day - 1)
    return found if found.year == year else None


class _Tally:
    """What the file's records add up to, for its own checks."""

    def __init__(self) -> None:
        self.contra_pence = 0
        self.contras = 0
        self.other_pence = 0
        self.unreadable = 0
        # side: [records, pence]
        self.sides = {"debit": [0, 0], "credit": [0, 0]}

    def count(self, line: str) -> None:
        if len(line) != RECORD_LENGTH or not line[35:46].isdigit():
            self.unreadable += 1
            return
        pence = int(line[35:46])
        if _is_contra(line):
            self.contra_pence += pence
            self.contras += 1
        else:
            self.other_pence += pence
        side = "debit" if line[15:17] in DEBIT_CODES else None
        side = "credit" if line[15:17] in CREDIT_CODES else side
        if side is not None:
            self.sides[side][0] += 1
            self.sides[side][1] += pence


def read(stream: BinaryIO, *, options: ReadOptions | None = None) -> Iterator:
    head = stream.read(4096)
    check_not_empty(head)
    check_not_utf16(head)
    stream.seek(0)
    processing_day = (options.default_date if options else None) or datetime.date.today()
    tally = _Tally()
    trailers: list[tuple[int, str]] = []
    for line_number, raw, too_long in numbered_lines(stream):
        if too_long:
            tally.unreadable += 1
            yield RejectedLine(line_number, shown(raw), too_long_reason())
            continue
        try:
            line = raw.rstrip(b"\r\n").decode("ascii")
        except UnicodeDecodeError as error:
            tally.unreadable += 1
            yield RejectedLine(
                line_number,
                shown(raw),
                f"character {error.start + 1} is not plain text: the file may be in the wrong "
                "encoding",
            )
            continue
        if not line.strip():
            continue
        if line[:4] in LABELS:
            if line[:4] == "UHL1":
                day = _julian(line[4:10])
                if day is None:
                    yield RejectedLine(
                        line_number, shown(line), "the UHL1 processing day is not yyddd"
                    )
                else:
                    processing_day = day
            elif line[:4] == "UTL1":
                trailers.append((line_number, line))
            continue
        tally.count(line)
        outcome = _record(line_number, line, processing_day)
        if outcome is not None:
            yield outcome
    yield FileTotals(problems=_problems(tally, trailers))


def _is_contra(line: str) -> bool:
    return "CONTRA" in line[64:82].upper() or "CONTRA" in line[46:64].upper()


def _records(count: int) -> str:
    return f"{count:,} record{'s' if count != 1 else ''}"


def _problems(tally: _Tally, trailers: list[tuple[int, str]]) -> list[str]:
    problems = []
    unread = (
        f" ({_records(tally.unreadable)} with no readable amount not counted)"
        if tally.unreadable
        else ""
    )
    if tally.contras and tally.contra_pence != tally.other_pence:
        problems.append(
            f"The contra records come to {pence_text(tally.contra_pence)} but the records they "
            f"balance add up to {pence_text(tally.other_pence)}{unread}: records are missing, "
            "extra or damaged."
        )
    found = tally.sides
    have = (found["debit"][0], found["debit"][1], found["credit"][0], found["credit"][1])
    the_file_has = (
        f"the file has {_records(have[0])} of debits totalling {pence_text(have[1])} and "
        f"{_records(have[2])} of credits totalling {pence_text(have[3])}{unread}"
    )
    for line_number, line in trailers:
        fields = (line[4:17], line[17:30], line[30:37], line[37:44])
        if not all(field.isdigit() for field in fields):
            problems.append(
                f"The UTL1 label (line {line_number}) does not hold its totals as numbers in "
                f"positions 5-44, so the file cannot be checked against it; {the_file_has}."
            )
            continue
        debit_pence, credit_pence, debits, credits = (int(field) for field in fields)
        if (debits, debit_pence, credits, credit_pence) != have:
            problems.append(
                f"The UTL1 label says {_records(debits)} of debits totalling "
                f"{pence_text(debit_pence)} and {_records(credits)} of credits totalling "
                f"{pence_text(credit_pence)}, but {the_file_has}."
            )
    return problems


def _record(
    line_number: int, line: str, processing_day: datetime.date
) -> PaymentRecord | RejectedLine | None:
    if not line.isprintable():
        return RejectedLine(
            line_number, shown(line), "the record holds control characters, not plain text"
        )
    if len(line) != RECORD_LENGTH:
        return RejectedLine(
            line_number,
            shown(line),
            f"the record is {len(line)} characters long; Standard 18 records are {RECORD_LENGTH}",
        )
    code = line[15:17]
    amount_text = line[35:46]
    reference = clean_text(line[64:82], 50)
    if _is_contra(line):
        return RejectedLine(
            line_number, shown(line), "a contra record (the file's balancing entry), not a payment"
        )
    if code not in INCOME_CODES:
        return RejectedLine(
            line_number,
            shown(line),
            f'transaction code "{code}" is not a payment in (01, 17, 18, 19 or 99)',
        )
    if not amount_text.isdigit():
        return RejectedLine(
            line_number,
            shown(line),
            f'the amount "{amount_text}" (characters 36-46) is not a whole number of pence',
        )
    pence = int(amount_text)
    if pence == 0:
        return RejectedLine(line_number, shown(line), "the amount is zero")
    if not (line[:6].isdigit() and line[17:23].isdigit()):
        return RejectedLine(line_number, shown(line), "a sort code is not six digits")
    return PaymentRecord(
        line_number=line_number,
        amount_pence=pence,
        received_on=processing_day,
        reference=reference,
        narrative=clean_text(line[46:64], 300),
        payer_name=clean_text(line[82:100], 200),
        channel_code=INCOME_CODES[code],
        identity=f"bacs18:{processing_day.isoformat()}:{line}",
    )


def write_record(
    *,
    reference: str,
    amount_pence: int,
    payer_name: str,
    code: str = "17",
    originator: str = "COUNCIL",
    destination_sort_code: str = "200000",
    destination_account: str = "12345678",
) -> str:
    return (
        f"{destination_sort_code}{destination_account}0{code}40000087654321    "
        f"{amount_pence:011d}{originator[:18]:<18}{reference[:18]:<18}{payer_name[:18]:<18}"
    )


def write_utl1(*, debit_pence: int, credit_pence: int, debits: int, credits: int) -> str:
    """A UTL1 label with the file's totals (for demo files and tests)."""
    return f"UTL1{debit_pence:013d}{credit_pence:013d}{debits:07d}{credits:07d}".ljust(80)
