"""The sample files the demo offers (income/demo_files/) import into a demo-configured
council: every format, with its suspense, money taken back and rejected lines."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from counterfoil.demo_seed import DEMO_COUNCILS, _seed_funds, _seed_import_config
from income.actions.imports import upload_import
from income.imports.pipeline import run_import
from income.models import CsvMapping, ImportStatus

DEMO_FILES = Path(__file__).resolve().parents[2] / "income" / "demo_files"


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.mark.parametrize(
    ("name", "fmt", "expected"),
    [
        # (receipts, money taken back, in suspense, rejected)
        ("allpay.txt", "allpay", (41, 1, 1, 2)),
        ("bacs18.txt", "bacs18", (13, 0, 1, 1)),
        ("camt053.xml", "camt053", (9, 1, 0, 1)),
        ("mt940.sta", "mt940", (8, 1, 0, 0)),
        ("bank.csv", "bank_csv", (11, 1, 1, 1)),
    ],
)
def test_each_demo_file_imports(council_a, ledger, name, fmt, expected):
    _seed_funds(council_a, DEMO_COUNCILS[0])
    _seed_import_config(council_a)
    batch = upload_import(
        council=council_a,
        uploaded_file=SimpleUploadedFile(name, (DEMO_FILES / name).read_bytes()),
        format_name=fmt,
        acting_user=None,
        mapping=CsvMapping.objects.first() if fmt == "bank_csv" else None,
    )
    batch = run_import(batch.pk)

    assert batch.status == ImportStatus.COMPLETED, batch.message
    counts = (
        batch.receipts_created,
        batch.adjustments_count,
        batch.suspense_count,
        batch.rejected_count,
    )
    assert counts == expected, [(r.line_number, r.reason) for r in batch.rejected.all()]
    assert batch.lines_accounted == batch.lines_read


def test_the_demo_reconciliation_statement_matches_the_demo_allpay_import(
    council_a, ledger, manager
):
    from income.actions.reconciliation import load_statement, match_statement

    _seed_funds(council_a, DEMO_COUNCILS[0])
    batch = upload_import(
        council=council_a,
        uploaded_file=SimpleUploadedFile("allpay.txt", (DEMO_FILES / "allpay.txt").read_bytes()),
        format_name="allpay",
        acting_user=None,
    )
    batch = run_import(batch.pk)
    statement = load_statement(
        council=council_a,
        uploaded_file=SimpleUploadedFile(
            "statement.xml", (DEMO_FILES / "reconciliation_statement.xml").read_bytes()
        ),
        format_name="camt053",
        acting_user=manager,
    )

    assert match_statement(council=council_a, statement=statement, acting_user=manager) == 1
    line = statement.lines.get(line_number=1)
    # The allpay settlement is the day's receipts less what allpay took back.
    assert line.expected_pence == batch.receipts_pence - batch.adjustments_pence == 478_999


def test_the_demo_arudd_report_reverses_a_receipt_of_the_demo_bacs_import(
    council_a, ledger, officer
):
    from income.actions.returned_debits import apply_returned_debits

    _seed_funds(council_a, DEMO_COUNCILS[0])
    batch = upload_import(
        council=council_a,
        uploaded_file=SimpleUploadedFile("bacs18.txt", (DEMO_FILES / "bacs18.txt").read_bytes()),
        format_name="bacs18",
        acting_user=None,
    )
    run_import(batch.pk)
    results = apply_returned_debits(
        council=council_a,
        uploaded_file=SimpleUploadedFile("arudd.xml", (DEMO_FILES / "arudd.xml").read_bytes()),
        acting_user=officer,
    )
    assert [r.status for r in results] == ["reversed", "unmatched"]
