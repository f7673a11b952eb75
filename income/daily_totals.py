"""Reading and folding the day totals the ledger's triggers append (income.models.daily_totals)."""

from django.db import connection, transaction

# Each statement below folds the rows of every day that has more than one into a single row.
# Rows of transactions still open are not visible, so they stay as they are; a concurrent
# fold waits on the rows this one deletes and then skips them, so nothing is counted twice.
_FOLD = """
WITH days AS (
    SELECT {day}, {key} FROM {table} GROUP BY {day}, {key} HAVING count(*) > 1
), gone AS (
    DELETE FROM {table} t USING days
    WHERE t.{day} = days.{day} AND t.{key} = days.{key}
    RETURNING t.{day}, t.{key}, {returned}
)
INSERT INTO {table} ({day}, {key}, {columns})
SELECT {day}, {key}, {sums} FROM gone GROUP BY {day}, {key}
"""


def _fold(table: str, day: str, key: str, columns: tuple[str, ...]) -> int:
    sql = _FOLD.format(
        table=table,
        day=day,
        key=key,
        columns=", ".join(columns),
        returned=", ".join(f"t.{column}" for column in columns),
        sums=", ".join(f"sum({column})" for column in columns),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.rowcount


@transaction.atomic
def compact_daily_totals() -> int:
    """Fold each day's appended rows into one per account and per channel; returns how many
    folded rows were written. Safe to run at any time, as often as wanted."""
    return _fold(
        "income_dailyaccounttotal", "booked_on", "account_id", ("pence", "receipt_credits")
    ) + _fold("income_dailychanneltakings", "received_on", "channel_id", ("receipts", "pence"))
