"""A report as one CSV file: each table under its caption, amounts in pounds as numbers.

Text cells go through income.csv_cells.neutralise (a payer's name or a rejected line could
start like a formula); numbers and dates are ours and written as they are.
"""

import csv
import io
from collections.abc import Iterator
from decimal import Decimal

from income.csv_cells import neutralise
from income.money import decimal_pounds
from income.reports.report import Column, Kind, Report


def _cell(column: Column, value: object) -> str:
    if value is None or value == "":
        return ""
    if column.kind == Kind.PENCE and isinstance(value, int | Decimal):
        return decimal_pounds(int(value))
    if column.kind == Kind.COUNT and isinstance(value, int | Decimal):
        return str(int(value))
    if column.kind == Kind.DATE and hasattr(value, "isoformat"):
        return value.isoformat()
    if column.kind == Kind.TIME and hasattr(value, "isoformat"):
        return value.isoformat(timespec="seconds")
    return neutralise(value)


def report_csv_lines(report: Report) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flushed() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow([neutralise(report.title), str(report.period)])
    for note in report.notes:
        writer.writerow([neutralise(note)])
    yield flushed()
    for table in report.tables:
        writer.writerow([])
        writer.writerow([neutralise(table.caption)])
        writer.writerow([neutralise(column.heading) for column in table.columns])
        yield flushed()
        for row in table.rows:
            writer.writerow([_cell(c, v) for c, v in zip(table.columns, row, strict=True)])
            yield flushed()
        if table.totals is not None:
            writer.writerow([_cell(c, v) for c, v in zip(table.columns, table.totals, strict=True)])
            yield flushed()
