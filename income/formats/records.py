"""What every payment-file format yields: payment records, and lines it could not read.

Formats are plain Python (no Django): each streams a binary file object and yields, line by
line, either a `PaymentRecord` or a `RejectedLine` saying why the line was not read, and (for
formats whose files check themselves: a trailer, control totals, balances) one `FileTotals`
after the last line. A bad line never stops the lines after it. Only a problem with the whole
file (it is empty, another format, in the wrong encoding, an XML bomb) raises `FileRefused`,
and then nothing is imported.
"""

import datetime
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from income.text_fields import one_line

# No line of a payment file is anywhere near this long; a longer one is refused, unread.
MAX_LINE_BYTES = 64 * 1024
# How much of a refused line is kept to show people (a line can be any length).
MAX_RAW_LENGTH = 500
MAX_REFERENCE_LENGTH = 50
MAX_NARRATIVE_LENGTH = 300
MAX_PAYER_NAME_LENGTH = 200


@dataclass(slots=True)
class PaymentRecord:
    line_number: int
    # Positive: money arriving. Negative: money going back (an adjustment, a returned cheque,
    # a debit or a reversal on a bank statement).
    amount_pence: int
    received_on: datetime.date
    reference: str = ""
    narrative: str = ""
    payer_name: str = ""
    # The method of payment, as a channel code (e.g. ALLPAY-PO, BANK, DD).
    channel_code: str = ""
    # What identifies this line in its own format (camt.053 AcctSvcrRef or NtryRef with the
    # TxDtls it came from, the MT940 :61: bank reference, the content of an allpay or BACS
    # line, a CSV's mapped columns), so the same line arriving in another file is recognised.
    # Empty: the pipeline identifies the line by its date, reference, amount and channel.
    identity: str = ""

    def __post_init__(self) -> None:
        # Each text on one line, whatever the file held (a CSV cell or an XML element can
        # hold line breaks): every file a receipt goes out in has one line per entry.
        self.reference = one_line(self.reference)
        self.narrative = one_line(self.narrative)
        self.payer_name = one_line(self.payer_name)


@dataclass(slots=True)
class RejectedLine:
    line_number: int
    raw: str
    reason: str


@dataclass(slots=True)
class FileTotals:
    """What a file says of itself, yielded once (after its last record) by formats that carry
    such facts: its trailer, control records or balances, checked against what was read."""

    # A statement the bank may send again under a new creation time: camt.053 MsgId with
    # Stmt/Id, MT940 :20: with :28C:. Empty: the file has no statement identity.
    statement_id: str = ""
    # Each of the file's own checks that failed, in words that show both totals, e.g.
    # "The trailer says 120 lines totalling £1,234.56; the file has 119 totalling £1,234.55."
    # Any problem means the file is damaged: the import is held, not posted.
    problems: list[str] = field(default_factory=list)


class FileRefused(Exception):
    """The whole file cannot be imported; the message says why, in words to act on."""


@dataclass(frozen=True)
class ChannelSpec:
    code: str
    name: str
    kind: str


@dataclass(frozen=True)
class ReadOptions:
    """What a format may need besides the file: a saved CSV column mapping, and the date to use
    for records whose file carries none."""

    mapping: "CsvMappingSpec | None" = None
    default_date: datetime.date | None = None
    # A bank statement read for reconciliation, which matches the bank's own movements: a
    # camt.053 entry that batches several payments stays one line, at the entry's amount.
    one_line_per_entry: bool = False


@dataclass(frozen=True)
class CsvMappingSpec:
    """Which column holds what (1-based column numbers; 0 = not in the file)."""

    delimiter: str = ","
    header_rows: int = 1
    date_format: str = "%d/%m/%Y"
    date_column: int = 0
    amount_column: int = 0
    credit_column: int = 0
    debit_column: int = 0
    reference_column: int = 0
    narrative_column: int = 0
    payer_name_column: int = 0
    channel_code: str = "BANK"
    currency_column: int = 0
    extra: dict = field(default_factory=dict)


def shown(raw: bytes | str) -> str:
    """A line as people should see it: decoded leniently, control characters made visible."""
    text = raw.decode("latin-1") if isinstance(raw, bytes) else raw
    text = text.rstrip("\r\n")
    if len(text) > MAX_RAW_LENGTH:
        text = text[:MAX_RAW_LENGTH] + "…"
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)


def clean_text(value: str, limit: int) -> str:
    """Whitespace runs as one space, control characters dropped, cut to `limit`."""
    text = " ".join(value.split())
    if not text.isprintable():
        text = "".join(ch for ch in text if ch.isprintable())
    return text[:limit]


_POUNDS = re.compile(r"([-+]?)(?:£|GBP)?\s*(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?")


def pounds_to_pence(text: str) -> int | None:
    """ "1,234.56", "-12.5", "£3" → pence; None if it is not an amount of money."""
    text = text.strip()
    negative = False
    if text.startswith("(") and text.endswith(")"):
        negative, text = True, text[1:-1].strip()
    match = _POUNDS.fullmatch(text)
    if not match:
        return None
    sign, whole, part = match.groups()
    pence = int(whole.replace(",", "")) * 100 + int((part or "0").ljust(2, "0"))
    return -pence if negative or sign == "-" else pence


def check_not_utf16(head: bytes) -> None:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head[:200]:
        raise FileRefused(
            "The file is in the wrong encoding (UTF-16, or it is not a text file at all). "
            "Save it as plain text (ASCII or UTF-8) and upload it again."
        )


def check_not_empty(head: bytes) -> None:
    if not head.strip():
        raise FileRefused("The file is empty: there is nothing to import.")


def pence_text(pence: int) -> str:
    sign = "-" if pence < 0 else ""
    whole, part = divmod(abs(pence), 100)
    return f"{sign}£{whole:,}.{part:02d}"


def numbered_lines(
    stream: BinaryIO, limit: int = MAX_LINE_BYTES
) -> Iterator[tuple[int, bytes, bool]]:
    """(line number, bytes, too long) for each line, never holding more than `limit` bytes of
    one line: a file with no line breaks cannot fill the memory."""
    number = 0
    while True:
        raw = stream.readline(limit)
        if not raw:
            return
        number += 1
        too_long = len(raw) >= limit and not raw.endswith(b"\n")
        while too_long:
            rest = stream.readline(limit)
            if not rest or rest.endswith(b"\n"):
                break
        yield number, raw, too_long


def too_long_reason(limit: int = MAX_LINE_BYTES) -> str:
    return f"the line is longer than {limit:,} characters, so it was not read"
