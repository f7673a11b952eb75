"""A receipt search's results as a CSV file, newest first, streamed a chunk at a time."""

from collections.abc import Iterator

from income.csv_cells import neutralise
from income.money import decimal_pounds
from income.receipt_search import ReceiptQuery, matching_receipts
from tenants.models import Membership

# A search's file holds at most this many receipts (and says so when there were more).
CSV_LIMIT = 100_000
HEADER = ["receipt", "received_on", "payer_reference", "payer_name", "channel", "amount",
          "status", "narrative"]  # fmt: skip


def _line(cells: list[str]) -> str:
    # Every cell quoted: a name may hold commas, quotes or line breaks.
    return ",".join('"' + cell.replace('"', '""') + '"' for cell in cells) + "\r\n"


def receipt_csv_lines(
    query: ReceiptQuery, *, limit: int = CSV_LIMIT, visible_to: Membership | None = None
) -> Iterator[str]:
    """The search's results as CSV (of the receipts `visible_to` may see)."""
    yield _line(HEADER)
    receipts = matching_receipts(query, visible_to=visible_to).order_by("-received_on", "-id")
    receipts = receipts[: limit + 1]
    for written, receipt in enumerate(receipts.iterator(chunk_size=2_000)):
        if written == limit:
            yield _line([f"Only the first {limit:,} receipts are in this file: narrow the search."])
            return
        yield _line(
            [
                neutralise(receipt.number),
                receipt.received_on.isoformat(),
                neutralise(receipt.payer_reference),
                neutralise(receipt.payer_name),
                neutralise(receipt.channel.name),
                decimal_pounds(receipt.amount_pence),
                receipt.status,
                neutralise(receipt.narrative),
            ]
        )
