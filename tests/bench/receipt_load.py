"""Filling a council's schema with millions of receipts, set-wise in SQL (for benchmarks).

Each receipt gets its journal and two postings (clearing debit, fund credit), written in
chunks of whole journals so the ledger's balance trigger holds at every step.
"""

import time

from django.db import connection

FIRST_NAMES = ["Olivia", "Amelia", "Isla", "Ava", "Mia", "Noah", "Oliver", "George", "Arthur",
               "Leo", "Harry", "Oscar", "Muhammad", "Jack", "Sophia", "Grace", "Freya", "Aisha",
               "Priya", "Tomasz", "Siobhan", "Dylan", "Rhys", "Megan"]  # fmt: skip
LAST_NAMES = ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies",
              "Patel", "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts",
              "Green", "Hall", "Thomas", "Clarke", "Jackson", "Wood", "Harris", "Edwards",
              "Kowalski", "O'Brien", "Nguyen", "Khan", "Ahmed", "MacDonald", "Hughes",
              "Lewis"]  # fmt: skip
CHUNK = 500_000


def load_receipts(count: int, fund_account_ids: list[int], clearing_account_ids: list[int],
                  channel_ids: list[int], *, days: int = 1_095) -> float:  # fmt: skip
    """Insert `count` receipts into the current schema; returns the seconds it took."""
    started = time.perf_counter()
    with connection.cursor() as cursor:
        # The search indexes are dropped for the load and rebuilt from their own definitions
        # afterwards (much faster than maintaining them row by row, and identical). Indexes
        # the ledger's own checks use (posting.journal_id) stay.
        cursor.execute(
            """
            SELECT i.indexname, i.indexdef FROM pg_indexes i
            WHERE i.schemaname = current_schema()
              AND i.indexname IN ('receipt_payer_name_date', 'receipt_reference_prefix',
                                  'receipt_amount_date', 'receipt_date_id',
                                  'posting_receipt_account')
            """
        )
        secondary = cursor.fetchall()
        for name, _ in secondary:
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute("SELECT coalesce(max(id), 0) FROM income_journal")
        base = cursor.fetchone()[0]
        for start in range(1, count + 1, CHUNK):
            stop = min(start + CHUNK - 1, count)
            params = {
                "base": base, "start": start, "stop": stop, "days": days,
                "first": FIRST_NAMES, "last": LAST_NAMES, "funds": fund_account_ids,
                "clearing": clearing_account_ids, "channels": channel_ids,
            }  # fmt: skip
            cursor.execute(
                """
                INSERT INTO income_journal (id, kind, description, created_at, created_by_email)
                SELECT %(base)s + i, 'receipt', 'benchmark receipt', now(), ''
                FROM generate_series(%(start)s::bigint, %(stop)s::bigint) AS i
                """,
                params,
            )
            cursor.execute(
                """
                INSERT INTO income_receipt (id, number, amount_pence, channel_id, received_on,
                    payer_reference, payer_name, narrative, idempotency_key, status, created_at,
                    journal_id)
                SELECT %(base)s + i, 'B' || (%(base)s + i),
                    100 + (i * 7919) %% 250000,
                    (%(channels)s::int[])[1 + i %% cardinality(%(channels)s::int[])],
                    current_date - ((i * 31) %% %(days)s)::int,
                    CASE i %% 7
                        WHEN 0 THEN 'PCN' || lpad((i %% 9000000)::text, 8, '0')
                        ELSE (40 + i %% 7)::text || lpad(i::text, 8, '0')
                    END,
                    (%(first)s::text[])[1 + i %% cardinality(%(first)s::text[])] || ' '
                        || (%(last)s::text[])[1 + (i / 7) %% cardinality(%(last)s::text[])],
                    'BENCHMARK LOAD', 'bench:' || (%(base)s + i), 'active', now(), %(base)s + i
                FROM generate_series(%(start)s::bigint, %(stop)s::bigint) AS i
                """,
                params,
            )
            cursor.execute(
                """
                INSERT INTO income_posting (journal_id, account_id, amount_pence, receipt_id,
                    booked_on)
                SELECT r.journal_id, side.account_id, side.amount, r.id, r.received_on
                FROM income_receipt r
                CROSS JOIN LATERAL (VALUES
                    ((%(clearing)s::int[])[1 + r.id %% cardinality(%(clearing)s::int[])],
                     r.amount_pence),
                    ((%(funds)s::int[])[1 + r.id %% cardinality(%(funds)s::int[])],
                     -r.amount_pence)
                ) AS side(account_id, amount)
                WHERE r.id BETWEEN %(base)s + %(start)s AND %(base)s + %(stop)s
                """,
                params,
            )
        # The maximum read first, on its own: in one statement with the table, Citus sends the
        # whole of it to the worker, where the unqualified sequence name resolves to nothing.
        for table in ("income_journal", "income_receipt"):
            cursor.execute(f"SELECT max(id) FROM {table}")  # noqa: S608 - our own table names
            (highest,) = cursor.fetchone()
            cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [table, highest])
        for _, definition in secondary:
            cursor.execute(definition)
        # As autovacuum does within a minute of so many inserts (migration income/0035): with
        # the visibility map current, searches read these tables by index alone.
        cursor.execute("VACUUM (ANALYZE) income_receipt")
        cursor.execute("VACUUM (ANALYZE) income_posting")
    return time.perf_counter() - started


def load_receipts_into_seven_funds(count: int) -> tuple[list, float]:
    """Seven funds F0-F6 in the current schema, and `count` receipts across them and every
    channel; returns the funds and the seconds the load took."""
    from income.accounts import clearing_account, fund_account
    from income.models import Channel
    from tests.factories import FundFactory

    funds = [FundFactory(code=f"F{n}") for n in range(7)]
    channels = list(Channel.objects.all())
    seconds = load_receipts(
        count,
        [fund_account(fund).pk for fund in funds],
        [clearing_account(channel).pk for channel in channels],
        [channel.pk for channel in channels],
    )
    return funds, seconds
