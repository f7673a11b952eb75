"""A payer whose name (or any text) begins like a spreadsheet formula pays like anyone else:
the line is imported with the text as written, and every CSV Counterfoil writes neutralises
it there (an export, the rejected lines' download)."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from income.actions.exports import run_export
from income.actions.imports import upload_import
from income.exports.layout import parse_fields
from income.imports.pipeline import run_import
from income.models import CsvMapping, ExportTarget, ImportStatus, Receipt, ReferenceRule
from tests.exported import export_text
from tests.factories import FundFactory

DAY = datetime.date(2026, 11, 20)


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_a_payer_called_a_formula_is_imported_and_neutralised_in_the_export(
    council_a, ledger, officer
):
    rule = ReferenceRule.objects.create(name="Parking", pattern=r"PCN\d{6}")
    parking = FundFactory(code="PARK", name="Parking Fines", reference_rule=rule)
    mapping = CsvMapping.objects.create(
        name="Bank", date_column=1, amount_column=2, reference_column=3, payer_name_column=4
    )
    content = b"Date,Amount,Reference,Payer\r\n20/11/2026,12.00,PCN000001,=SUM(1)\r\n"
    batch = upload_import(
        council=council_a,
        uploaded_file=SimpleUploadedFile("bank.csv", content),
        format_name="bank_csv",
        mapping=mapping,
        acting_user=officer,
        default_date=DAY,
    )
    batch = run_import(batch.pk)

    assert batch.status == ImportStatus.COMPLETED, batch.message
    assert not batch.rejected.exists()
    receipt = Receipt.objects.get(import_batch=batch)
    assert (receipt.payer_name, receipt.amount_pence) == ("=SUM(1)", 1_200)
    assert batch.fund_totals[0]["code"] == "PARK"

    target = ExportTarget.objects.create(
        name="Parking system", fields=parse_fields("reference\npayer_name\namount")
    )
    target.funds.set([parking])
    run = run_export(council=council_a, target=target, acting_user=officer)
    assert "PCN000001,'=SUM(1),12.00" in export_text(run).splitlines()
