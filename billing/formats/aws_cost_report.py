"""The platform's monthly cost from an AWS Cost and Usage Report (CUR) CSV file.

A CUR has one line per charge (product, usage type, operation, resource) with, among many
other columns, the billing period's start, the product code, the currency and the unblended
cost. We read four of them, by name, in either of AWS's spellings: the legacy CUR's
(`bill/BillingPeriodStartDate`, `lineItem/ProductCode`, `lineItem/CurrencyCode`,
`lineItem/UnblendedCost`) or CUR 2.0's from Data Exports (`bill_billing_period_start_date`,
`line_item_product_code`, `line_item_currency_code`, `line_item_unblended_cost`); every other
column is ignored. Lines are summed per month and product code (the cost's category) and
rounded to whole pence once per sum, never per line.

The account must be billed in pounds (AWS's "preferred currency" GBP): a line in another
currency refuses the whole file, as does a negative line (credits and refunds are entered by
hand, so that what is shared out is what was really paid). Nothing is kept from a refused file.
"""

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

COLUMNS = {
    "legacy": {
        "month": "bill/BillingPeriodStartDate",
        "category": "lineItem/ProductCode",
        "currency": "lineItem/CurrencyCode",
        "cost": "lineItem/UnblendedCost",
    },
    "cur2": {
        "month": "bill_billing_period_start_date",
        "category": "line_item_product_code",
        "currency": "line_item_currency_code",
        "cost": "line_item_unblended_cost",
    },
}
MAX_ERRORS_SHOWN = 10


class CostFileRefused(ValueError):
    """The file is not a usable cost report; `problems` says why, line by line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class MonthlyCost:
    month: date
    category: str
    amount_pence: int


def read_cost_report(content: bytes) -> list[MonthlyCost]:
    """Each month's cost per product code; CostFileRefused if anything in the file is wrong."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as refused:
        raise CostFileRefused(
            ["The file is not UTF-8 text: export it from AWS as CSV"]
        ) from refused
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip() for name in reader.fieldnames or []]
    columns = _columns(header)
    sums: dict[tuple[date, str], Decimal] = defaultdict(Decimal)
    problems: list[str] = []
    for line_number, row in enumerate(reader, start=2):
        problem = _add_line(row, columns, sums)
        if problem:
            problems.append(f"Line {line_number}: {problem}")
    if problems:
        shown = problems[:MAX_ERRORS_SHOWN]
        if len(problems) > MAX_ERRORS_SHOWN:
            shown.append(f"and {len(problems) - MAX_ERRORS_SHOWN} more lines like these")
        raise CostFileRefused(shown)
    if not sums:
        raise CostFileRefused(["The file has a header but no cost lines"])
    return [
        MonthlyCost(month, category, int((pounds * 100).quantize(Decimal(1), ROUND_HALF_UP)))
        for (month, category), pounds in sorted(sums.items())
    ]


def _columns(header: list[str]) -> dict[str, str]:
    for columns in COLUMNS.values():
        if set(columns.values()) <= set(header):
            return columns
    legacy = ", ".join(COLUMNS["legacy"].values())
    raise CostFileRefused(
        [
            f"This is not an AWS Cost and Usage Report: its header needs the columns {legacy} "
            "(or their CUR 2.0 names)"
        ]
    )


def _add_line(
    row: dict[str, str], columns: dict[str, str], sums: dict[tuple[date, str], Decimal]
) -> str:
    """Add one line to its month's sum; the problem with it, if any."""
    currency = (row.get(columns["currency"]) or "").strip()
    if currency != "GBP":
        return f"the cost is in {currency or 'no currency'}, not GBP (pounds)"
    try:
        cost = Decimal((row.get(columns["cost"]) or "").strip())
    except InvalidOperation:
        return f"the cost {row.get(columns['cost'])!r} is not a number"
    if not cost.is_finite():
        return "the cost is not a number"
    if cost < 0:
        return f"the cost {cost} is negative (enter credits and refunds by hand)"
    started = (row.get(columns["month"]) or "").strip()
    try:
        month = datetime.fromisoformat(started.replace("Z", "+00:00")).date().replace(day=1)
    except ValueError:
        return f"the billing period start {started!r} is not a date"
    category = (row.get(columns["category"]) or "").strip()[:100] or "Other"
    sums[(month, category)] += cost
    return ""
