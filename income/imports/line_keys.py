"""The idempotency key of the receipt an imported line makes: what identifies the line in its
own format, and which occurrence of it in the file this is.

    file:<channel code>:<date>:<digest of the line's identity>:<occurrence in the file>

The same line arriving in another file (an overlapping bank statement, an allpay file saved
with other line endings, the first lines of a file sent again) has the same key, so the
receipt table's unique index on `idempotency_key` recognises it without a table of its own.
The same line twice in one file is two payments: the second is occurrence 2, a key of its
own. The channel and date lead the key so that a file's keys sit together in the index
(a file is a day or a few of one channel's payments): its lookups and insertions touch a
few index pages, not pages all over an index of millions.

Reversing an import rewrites its receipts' keys (income.actions.imports), so its lines may be
imported again; nothing else ever changes a key.
"""

from base64 import urlsafe_b64encode
from hashlib import blake2b

from income.formats.records import PaymentRecord

# 64 bits: two different lines of one channel and day colliding is a chance in 10^7 for a
# file of a million lines on a day that already had a million.
DIGEST_BYTES = 8


def line_identity(record: PaymentRecord) -> str:
    """What identifies the line: its format's own identity, or else (a format that gives
    none) its date, reference, amount and channel."""
    if record.identity:
        return record.identity
    return (
        f"{record.received_on.isoformat()}|{record.reference}|{record.amount_pence}|"
        f"{record.channel_code}"
    )


class LineKeys:
    """Keys for one file's lines, counting each identity's occurrences as the file is read
    (a dictionary of digests: about 90 bytes a line)."""

    def __init__(self) -> None:
        self._seen: dict[bytes, int] = {}

    def key(self, record: PaymentRecord) -> str:
        digest = blake2b(line_identity(record).encode(), digest_size=DIGEST_BYTES).digest()
        occurrence = self._seen.get(digest, 0) + 1
        self._seen[digest] = occurrence
        # The digest in 11 characters, not 16 in hex: the shorter the key, the smaller the
        # index a million receipts write into.
        short = urlsafe_b64encode(digest).rstrip(b"=").decode()
        return f"file:{record.channel_code}:{record.received_on.isoformat()}:{short}:{occurrence}"
