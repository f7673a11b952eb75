"""allpay transaction files (Post Office, PayPoint, Payzone, IVR, Bills Online), fixed width.

The layout Barnsley's importer reads, by character position (1-based):

- 1-7 narrative; 8-23 the payer's reference (when 8-11 read `BERN`, the reference is 12-23);
- 24-32 the amount in pounds and pence, right-aligned (`   123.45`);
- 33 the channel: P Post Office, T PayPoint, Z Payzone, N IVR, B Bills Online, C a cash
  adjustment, Q a returned cheque (the last two take money back);
- 34-43 the date, dd/mm/yyyy.

An amount written with a minus sign (`  -12.50`) is money allpay took back, whatever the
channel letter (a cash adjustment or returned cheque with a minus sign is taken back once,
not given back).

A line shorter than two characters ends the transactions. Then come a line starting
`Total Amount` (the amount in characters 35-51) and one starting `Total Transactions` (the
count in 41-57), which must agree with the lines above them: the file's `FileTotals` lists
each that does not (or that is missing: the file may be cut short), and such a file is held,
not imported. A line's identity is its own content (date, reference, amount and channel).
"""

import datetime
import re
from collections.abc import Iterator
from typing import BinaryIO

from income.formats.records import (
    ChannelSpec,
    FileRefused,
    FileTotals,
    PaymentRecord,
    ReadOptions,
    RejectedLine,
    check_not_empty,
    check_not_utf16,
    numbered_lines,
    pence_text,
    shown,
    too_long_reason,
)

NAME = "allpay"
TITLE = "allpay transaction file (fixed width)"
FIELDS = ("narrative", "reference", "amount", "channel", "date")
NEEDS_MAPPING = False
LINE_LENGTH = 43

CHANNEL_LETTERS: dict[str, tuple[str, int]] = {
    # letter: (channel code, sign)
    "P": ("ALLPAY-PO", 1),
    "T": ("ALLPAY-PP", 1),
    "Z": ("ALLPAY-PZ", 1),
    "N": ("ALLPAY-IVR", 1),
    "B": ("ALLPAY-BO", 1),
    "C": ("ALLPAY-ADJ", -1),
    "Q": ("ALLPAY-RQ", -1),
}
CHANNELS = (
    ChannelSpec("ALLPAY-PO", "allpay Post Office", "allpay_post_office"),
    ChannelSpec("ALLPAY-PP", "allpay PayPoint", "allpay_paypoint"),
    ChannelSpec("ALLPAY-PZ", "allpay Payzone", "allpay_paypoint"),
    ChannelSpec("ALLPAY-IVR", "allpay telephone (IVR)", "allpay_paypoint"),
    ChannelSpec("ALLPAY-BO", "allpay Bills Online", "allpay_paypoint"),
    ChannelSpec("ALLPAY-ADJ", "allpay cash adjustment", "allpay_paypoint"),
    ChannelSpec("ALLPAY-RQ", "allpay returned cheque", "allpay_paypoint"),
)

_AMOUNT = re.compile(r" *(-?)(\d{1,6})\.(\d\d)")
_TOTAL = re.compile(r"(-?)£?(\d{1,3}(?:,\d{3})+|\d+)\.(\d\d)")


def looks_like(head: bytes) -> bool:
    first = head.split(b"\n", 1)[0].rstrip(b"\r ")
    return len(first) == LINE_LENGTH and first[32:33] in b"PTZNBCQ" and first[35:36] == b"/"


class _Dates:
    """dd/mm/yyyy → date, remembered: a file holds a handful of distinct dates."""

    def __init__(self) -> None:
        self.seen: dict[str, datetime.date | str] = {}

    def parse(self, text: str) -> datetime.date | str:
        found = self.seen.get(text)
        if found is None:
            found = self._parse(text)
            if len(self.seen) < 10_000:
                self.seen[text] = found
        return found

    @staticmethod
    def _parse(text: str) -> datetime.date | str:
        if not (
            len(text) == 10
            and text[2] == "/"
            and text[5] == "/"
            and (text[:2] + text[3:5] + text[6:]).isdigit()
            and text.isascii()
        ):
            return f'the date "{text}" is not written dd/mm/yyyy'
        try:
            return datetime.date(int(text[6:]), int(text[3:5]), int(text[:2]))
        except ValueError:
            return f"{text} is not a real date"


def read(stream: BinaryIO, *, options: ReadOptions | None = None) -> Iterator:
    head = stream.read(4096)
    check_not_empty(head)
    check_not_utf16(head)
    stream.seek(0)
    dates = _Dates()
    transactions = 0
    unreadable_amounts = 0
    net_pence = 0
    ended_at: int | None = None
    total_amount: tuple[int, str, int | None] | None = None
    total_count: tuple[int, str, int | None] | None = None
    line_number = 0
    for line_number, raw, too_long in numbered_lines(stream):
        if too_long:
            if ended_at is None:
                transactions += 1
                unreadable_amounts += 1
            yield RejectedLine(line_number, shown(raw), too_long_reason())
            continue
        try:
            line = raw.rstrip(b"\r\n").decode("ascii")
        except UnicodeDecodeError as error:
            if ended_at is None:
                transactions += 1
                unreadable_amounts += 1
            yield RejectedLine(
                line_number,
                shown(raw),
                f"character {error.start + 1} is not plain text (byte 0x{raw[error.start]:02X}):"
                " the file may be in the wrong encoding",
            )
            continue
        if ended_at is None:
            if len(line) < 2:
                ended_at = line_number
                continue
            transactions += 1
            outcome = _transaction(line_number, line, dates)
            if isinstance(outcome, RejectedLine):
                amount = _AMOUNT.fullmatch(line[23:32])
                if amount is None:
                    unreadable_amounts += 1
                else:
                    net_pence += _signed_pence(amount, line[32:33])
            else:
                net_pence += outcome.amount_pence
            yield outcome
            continue
        stripped = line.strip()
        if not stripped:
            continue
        if line.startswith("Total Amount"):
            total_amount = (line_number, line, _total_pence(line[34:51]))
        elif line.startswith("Total Transactions"):
            count_text = line[40:57].strip().replace(",", "")
            total_count = (line_number, line, int(count_text) if count_text.isdigit() else None)
        else:
            yield RejectedLine(
                line_number,
                shown(line),
                "unexpected line after the end of the transactions (only the Total Amount and "
                "Total Transactions lines belong there)",
            )
    yield _file_totals(
        line_number, transactions, net_pence, unreadable_amounts, total_amount, total_count
    )


def _transaction(line_number: int, line: str, dates: _Dates) -> PaymentRecord | RejectedLine:
    if not line.isprintable():
        return RejectedLine(
            line_number, shown(line), "the line holds control characters, not plain text"
        )
    if len(line.rstrip()) != LINE_LENGTH:
        return RejectedLine(
            line_number,
            shown(line),
            f"the line is {len(line.rstrip())} characters long; allpay transaction lines are "
            f"{LINE_LENGTH}",
        )
    amount = _AMOUNT.fullmatch(line[23:32])
    if amount is None:
        return RejectedLine(
            line_number,
            shown(line),
            f'the amount "{line[23:32].strip()}" (characters 24-32) is not pounds and pence '
            "like 123.45",
        )
    letter = line[32]
    channel = CHANNEL_LETTERS.get(letter)
    if channel is None:
        return RejectedLine(
            line_number,
            shown(line),
            f'"{letter}" (character 33) is not an allpay channel (P, T, Z, N, B, C or Q)',
        )
    received_on = dates.parse(line[33:43])
    if isinstance(received_on, str):
        return RejectedLine(line_number, shown(line), received_on)
    pence = _signed_pence(amount, letter)
    if pence == 0:
        return RejectedLine(line_number, shown(line), "the amount is zero")
    reference = line[11:23] if line[7:11] == "BERN" else line[7:23]
    return PaymentRecord(
        line_number=line_number,
        amount_pence=pence,
        received_on=received_on,
        reference=reference.strip(),
        narrative=line[:7].strip(),
        channel_code=channel[0],
        identity=f"allpay:{line.rstrip()}",
    )


def _signed_pence(amount: re.Match, letter: str) -> int:
    """Money in is positive; a minus sign or a channel that takes money back, negative."""
    minus, whole, part = amount.groups()
    pence = int(whole) * 100 + int(part)
    return -pence if minus or CHANNEL_LETTERS.get(letter, ("", 1))[1] < 0 else pence


def _total_pence(text: str) -> int | None:
    match = _TOTAL.fullmatch(text.strip())
    if match is None:
        return None
    sign, whole, part = match.groups()
    pence = int(whole.replace(",", "")) * 100 + int(part)
    return -pence if sign else pence


def _file_totals(
    last_line: int,
    transactions: int,
    net_pence: int,
    unreadable_amounts: int,
    total_amount: tuple[int, str, int | None] | None,
    total_count: tuple[int, str, int | None] | None,
) -> FileTotals:
    """The trailer's checks: each that fails is a problem of the file (which is then held),
    never a rejected line (the trailer is not a payment)."""
    if (total_amount is None or total_count is None) and transactions == 0 and last_line == 0:
        raise FileRefused("The file is empty: there is nothing to import.")
    problems: list[str] = []
    lines = f"{transactions:,} transaction line{'s' if transactions != 1 else ''}"
    unread = (
        f" ({unreadable_amounts:,} line{'s' if unreadable_amounts != 1 else ''} with no "
        f"readable amount {'are' if unreadable_amounts != 1 else 'is'} not in that sum)"
        if unreadable_amounts
        else ""
    )
    if total_amount is None or total_count is None:
        missing = " and ".join(
            name
            for name, value in (("Total Amount", total_amount), ("Total Transactions", total_count))
            if value is None
        )
        problems.append(
            f"The file ends without its {missing} line: it may be cut short. It has {lines} "
            f"adding up to {pence_text(net_pence)}{unread}; check with allpay that every "
            "payment arrived."
        )
    if total_count is not None:
        line_number, line, count = total_count
        if count is None:
            problems.append(
                f'The Total Transactions count (line {line_number}, "{shown(line).strip()}") '
                f"is not a whole number; the file has {lines}."
            )
        elif count != transactions:
            problems.append(
                f"Total Transactions says {count:,} but the file has {lines}: lines are "
                "missing or extra."
            )
    if total_amount is not None:
        line_number, line, pence = total_amount
        if pence is None:
            problems.append(
                f'The Total Amount (line {line_number}, "{shown(line).strip()}") is not pounds '
                f"and pence; the transaction lines add up to {pence_text(net_pence)}{unread}."
            )
        elif pence != net_pence:
            problems.append(
                f"Total Amount says {pence_text(pence)} but the transaction lines add up to "
                f"{pence_text(net_pence)}{unread}."
            )
    return FileTotals(problems=problems)


def write_line(
    *, reference: str, amount_pence: int, letter: str, date: datetime.date, narrative: str = ""
) -> str:
    """One transaction line (for demo files, tests and benchmarks); a negative amount is
    written with its minus sign."""
    sign = "-" if amount_pence < 0 else ""
    whole, part = divmod(abs(amount_pence), 100)
    amount = f"{sign}{whole}.{part:02d}"
    return f"{narrative[:7]:<7}{reference[:16]:<16}{amount:>9}{letter}{date:%d/%m/%Y}"


def write_trailer(*, total_pence: int, count: int) -> list[str]:
    sign = "-" if total_pence < 0 else ""
    whole, part = divmod(abs(total_pence), 100)
    return [
        "",
        f"{'Total Amount':<34}{f'{sign}{whole}.{part:02d}':>17}",
        f"{'Total Transactions':<40}{count:>17}",
    ]
