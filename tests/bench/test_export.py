"""export_* and gl_journal: exporting allocated receipts to a CSV layout, and the general-
ledger journal, against `COPY (SELECT ...) TO STDOUT` of the same columns in the same run.

Targets (issue 5): the export at no less than half the rows per second of the COPY; the
general-ledger journal for 1,000,000 receipts in under a second. `BENCH_EXPORT_RECEIPTS`
sets the size (default 1,000,000).
"""

import os
import time

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from income.accounts import clearing_account, fund_account
from income.actions.exports import run_export
from income.exports.export_file import export_files
from income.exports.layout import parse_fields
from income.models import Channel, ExportTarget
from tenants.actions.councils import create_council
from tests.bench.receipt_load import load_receipts
from tests.bench.reporting import bench_line
from tests.factories import FundFactory

RECEIPTS = int(os.environ.get("BENCH_EXPORT_RECEIPTS", "1000000"))

SAME_COLUMNS = """
COPY (
    SELECT r.number, r.received_on, r.payer_reference, r.payer_name, f.code, f.ledger_code,
        -p.amount_pence
    FROM income_posting p
    JOIN income_account a ON a.id = p.account_id AND a.kind = 'fund'
    JOIN income_receipt r ON r.id = p.receipt_id
    JOIN income_fund f ON f.id = a.fund_id
) TO STDOUT WITH (FORMAT csv)
"""


@pytest.fixture(scope="module")
def export_council(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        council = create_council(name="Export Bench Council", slug="bench-export", acting_user=None)
        with schema_context(council.schema_name):
            funds = [
                FundFactory(code=f"F{n}", ledger_code=f"40{n}", cost_centre="CC1") for n in range(7)
            ]
            channels = list(Channel.objects.all())
            seconds = load_receipts(
                RECEIPTS,
                [fund_account(fund).pk for fund in funds],
                [clearing_account(channel).pk for channel in channels],
                [channel.pk for channel in channels],
            )
            print(f"\nexport bench: loaded {RECEIPTS:,} receipts in {seconds:.0f}s")
        yield council
        connection.set_schema_to_public()
        council.delete(force_drop=True)


def test_export_1m_and_gl_journal(export_council, django_db_blocker, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    with django_db_blocker.unblock(), schema_context(export_council.schema_name):
        with connection.cursor() as cursor:
            started = time.perf_counter()
            size = 0
            with cursor.cursor.copy(SAME_COLUMNS) as copy:
                for data in copy:
                    size += len(data)
            copy_seconds = time.perf_counter() - started
        target = ExportTarget.objects.create(
            name="Revenues",
            fields=parse_fields(
                "receipt_number\nreceived_on\nreference\npayer_name\nfund_code\nledger_code\namount"
            ),
        )
        started = time.perf_counter()
        run = run_export(council=export_council, target=target, acting_user=None)
        export_seconds = time.perf_counter() - started
        gl = ExportTarget.objects.create(name="Ledger", layout="gl_journal", fields=[])
        started = time.perf_counter()
        gl_run = run_export(council=export_council, target=gl, acting_user=None)
        gl_seconds = time.perf_counter() - started
        export_files().delete(run.sha256)
        export_files().delete(gl_run.sha256)

    assert run.line_count == RECEIPTS
    assert run.total_pence == gl_run.total_pence == gl_run.income_pence
    print(
        f"\nexport bench: {run.line_count:,} lines in {export_seconds:.1f}s; COPY TO STDOUT "
        f"{size / 1e6:.0f} MB in {copy_seconds:.1f}s; general-ledger journal {gl_seconds:.2f}s "
        f"({gl_run.line_count} lines)"
    )
    print(
        bench_line(
            "export_1m",
            ("rows_per_s", run.line_count / export_seconds, ""),
            ("copy_rows_per_s", RECEIPTS / copy_seconds, ""),
            target=0.5,
        )
    )
    print(
        bench_line(
            "gl_journal",
            ("ms", gl_seconds * 1000, "ms"),
            ("target_ms", 1000, "ms"),
            target=1.0,
            op="<=",
        )
    )
