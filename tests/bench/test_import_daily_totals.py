"""import_daily_totals: what the day-totals trigger on postings (migration 0027) costs an
import. Files of `BENCH_DAILY_TOTALS_LINES` allpay lines (default 100,000) are imported end
to end with the trigger on and off, alternately, twice each; and the trigger's own statement
is timed over the postings one import wrote.

The issue sets no target for this cost: it asks for it to be measured and reported (the
import's own target is import_1m's), so this prints an information line, not a BENCH line.
"""

import os
import statistics

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from income.models import ImportRule, ImportStatus, ReferenceRule
from tenants.actions.councils import create_council
from tests.bench.test_import import FUNDS, timed_import, write_file
from tests.factories import FundFactory

LINES = int(os.environ.get("BENCH_DAILY_TOTALS_LINES", "100000"))
TRIGGER = "income_posting_daily_totals"


@pytest.fixture(scope="module")
def totals_council(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        council = create_council(name="Totals Bench Council", slug="bench-totals", acting_user=None)
        with schema_context(council.schema_name):
            funds = []
            for code, name, rule in FUNDS:
                reference_rule = ReferenceRule.objects.create(name=name, **rule)
                funds.append(FundFactory(code=code, name=name, reference_rule=reference_rule))
            ImportRule.objects.create(
                name="Trade waste by narrative",
                conditions=[{"field": "narrative", "operator": "starts_with", "value": "TW"}],
                set_fund=funds[-1],
            )
        yield council
        connection.set_schema_to_public()
        council.delete(force_drop=True)


def test_import_daily_totals_cost(totals_council, django_db_blocker, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "files"
    seconds: dict[bool, list[float]] = {True: [], False: []}
    with django_db_blocker.unblock(), schema_context(totals_council.schema_name):
        for run, trigger_on in enumerate((True, False, True, False)):
            path = str(tmp_path / f"allpay-{run}.txt")
            write_file(path, LINES + run)  # a different file each time (its hash differs)
            with connection.cursor() as cursor:
                state = "ENABLE" if trigger_on else "DISABLE"
                cursor.execute(f"ALTER TABLE income_posting {state} TRIGGER {TRIGGER}")
            batch, took = timed_import(totals_council, path)
            assert batch.status == ImportStatus.COMPLETED, batch.message
            seconds[trigger_on].append(took)
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE income_posting ENABLE TRIGGER {TRIGGER}")
            cursor.execute("SELECT count(*) FROM income_posting WHERE xact_id = "
                           "(SELECT max(xact_id) FROM income_posting)")  # fmt: skip
            postings = cursor.fetchone()[0]
            # The trigger's statement over one import's postings, as a transition table.
            cursor.execute(
                "EXPLAIN (ANALYZE, SUMMARY ON, TIMING OFF) "
                "SELECT booked_on, account_id, sum(amount_pence), "
                "count(*) FILTER (WHERE amount_pence < 0 AND receipt_id IS NOT NULL) "
                "FROM income_posting WHERE xact_id = (SELECT max(xact_id) FROM income_posting) "
                "GROUP BY booked_on, account_id"
            )
            plan = [row[0] for row in cursor.fetchall()]
    on, off = statistics.mean(seconds[True]), statistics.mean(seconds[False])
    print(
        f"\nimport_daily_totals: {LINES:,}-line imports took {on:.2f}s with the day-totals "
        f"trigger and {off:.2f}s without (mean of two each: "
        f"{', '.join(f'{s:.2f}' for s in seconds[True])} vs "
        f"{', '.join(f'{s:.2f}' for s in seconds[False])}), {100 * (on - off) / off:+.1f}%; "
        f"the trigger's aggregate over one import's {postings:,} postings: "
        f"{plan[-1].strip()}"
    )
