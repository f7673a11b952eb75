"""Choosing a line of a receipt's money (a fund, or suspense, and the reference it is held
for) in a form: the refund's source, the transfer's "from"."""

from income.balances import HeldLine, receipt_allocation_lines
from income.models import Fund, Receipt
from income.money import format_pounds

SUSPENSE = "suspense"


def held_line_choices(receipt: Receipt, *, funds_only: bool = False) -> list[tuple[str, str]]:
    """(key, label) per line holding money now. The key is the fund's id (or "suspense"),
    followed by "|reference" only where that fund holds the receipt's money under more than
    one reference, so that the usual single-reference choice stays a plain fund id."""
    held = receipt_allocation_lines(receipt)
    if funds_only:
        held = {line: pence for line, pence in held.items() if line.fund_id is not None}
    funds = Fund.objects.in_bulk([line.fund_id for line in held if line.fund_id])
    per_fund: dict[int | None, int] = {}
    for line in held:
        per_fund[line.fund_id] = per_fund.get(line.fund_id, 0) + 1
    choices = []
    for line, pence in held.items():
        where = str(line.fund_id) if line.fund_id else SUSPENSE
        key = f"{where}|{line.reference}" if per_fund[line.fund_id] > 1 else where
        name = funds[line.fund_id] if line.fund_id else "Suspense"
        reference = f", reference {line.reference}" if line.reference else ""
        choices.append((key, f"{name}{reference} ({format_pounds(pence)} held)"))
    return choices


def chosen_line(key: str) -> HeldLine | tuple[int | None, None]:
    """The fund id (None: suspense) and reference a key names; the reference is None when
    the key names only the fund (it holds one reference)."""
    where, bar, reference = key.partition("|")
    fund_id = None if where == SUSPENSE else int(where)
    return HeldLine(fund_id, reference) if bar else (fund_id, None)
