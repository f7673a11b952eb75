"""The import pages through the real views: upload, progress without JavaScript, summary,
rejected lines as CSV, the original file, reversal, rules and mappings; and one council's
staff never see another's imports or files."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from income.defaults import seed_income_defaults
from income.formats import allpay
from income.imports.pipeline import run_import
from income.models import CsvMapping, ImportBatch, ImportRule, ImportStatus, Receipt
from tenants.models import CouncilRole
from tests.conftest import host_client, make_member
from tests.factories import PASSWORD, FundFactory

pytestmark = pytest.mark.django_db
DAY = datetime.date(2026, 11, 20)


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def signed_in(council, role=CouncilRole.INCOME_OFFICER):
    member = make_member(council, role)
    client = host_client(council)
    client.login(email=member.email, password=PASSWORD)
    return client


def allpay_bytes() -> bytes:
    lines = [
        allpay.write_line(reference="RENT0001", amount_pence=1_500, letter="P", date=DAY),
        "=cmd|' /C calc'!A0 not a line at all",
    ]
    lines += allpay.write_trailer(total_pence=1_500, count=2)
    return ("\r\n".join(lines) + "\r\n").encode()


@pytest.fixture
def council_a_ready(council_a):
    with schema_context(council_a.schema_name):
        seed_income_defaults()
        FundFactory(code="RENT", name="Housing Rents")
    return council_a


def upload(client, content=None, name="allpay.txt", fmt="allpay", **extra):
    return client.post(
        "/imports/new/",
        {"format": fmt, "file": SimpleUploadedFile(name, content or allpay_bytes()), **extra},
    )


def test_upload_shows_progress_that_refreshes_itself_then_the_summary(council_a_ready):
    client = signed_in(council_a_ready)

    response = upload(client)

    assert response.status_code == 302
    with schema_context(council_a_ready.schema_name):
        batch = ImportBatch.objects.get()
    assert response["Location"] == f"/imports/{batch.pk}/"
    waiting = client.get(response["Location"])
    assert waiting["Refresh"] == "2"
    assert b'role="progressbar"' in waiting.content
    assert b"stop refreshing" in waiting.content
    stopped = client.get(response["Location"] + "?refresh=off")
    assert "Refresh" not in stopped
    assert b"does not refresh itself" in stopped.content

    with schema_context(council_a_ready.schema_name):
        run_import(batch.pk)
    summary = client.get(f"/imports/{batch.pk}/")
    text = summary.content.decode()
    assert "Refresh" not in summary
    assert "Receipts created" in text and "1, worth £15.00" in text
    assert "Rejected lines" in text
    assert "The line is 36 characters long; allpay transaction lines are 43" in text
    assert "RENT0001 fits no fund" in text  # no reference rule: suspense, with the reason

    rejected = client.get(f"/imports/{batch.pk}/rejected.csv")
    body = b"".join(rejected.streaming_content).decode()
    assert body.splitlines()[1].startswith("2,'=cmd|")  # formula neutralised

    original = client.get(f"/imports/{batch.pk}/file/")
    assert b"".join(original.streaming_content) == allpay_bytes()


def test_uploading_the_same_file_again_says_when_it_was_first_imported(council_a_ready):
    client = signed_in(council_a_ready)
    upload(client, name="first.txt")

    again = upload(client, name="second.txt")

    assert again.status_code == 200
    assert "This file was already imported on" in again.content.decode()
    assert "(first.txt)" in again.content.decode()


def test_only_finance_roles_upload_and_reverse(council_a_ready):
    auditor = signed_in(council_a_ready, CouncilRole.AUDITOR)
    assert auditor.get("/imports/").status_code == 200
    assert auditor.get("/imports/new/").status_code == 403
    assert upload(auditor).status_code == 403


def test_reversing_an_import_asks_for_a_reason_then_reverses_it(council_a_ready):
    client = signed_in(council_a_ready)
    upload(client)
    with schema_context(council_a_ready.schema_name):
        batch = run_import(ImportBatch.objects.get().pk)

    assert client.get(f"/imports/{batch.pk}/reverse/").status_code == 200
    missing = client.post(f"/imports/{batch.pk}/reverse/", {"reason": ""})
    assert "Enter" in missing.content.decode() or "required" in missing.content.decode()
    done = client.post(f"/imports/{batch.pk}/reverse/", {"reason": "duplicate"})

    assert done.status_code == 302
    with schema_context(council_a_ready.schema_name):
        batch.refresh_from_db()
        assert batch.status == ImportStatus.REVERSED
        assert not Receipt.objects.filter(import_batch=batch, status="active").exists()


def test_council_b_cannot_see_council_a_imports_or_files(council_a_ready, council_b):
    client = signed_in(council_a_ready)
    upload(client)
    with schema_context(council_a_ready.schema_name):
        batch = run_import(ImportBatch.objects.get().pk)
    with schema_context(council_b.schema_name):
        seed_income_defaults()
    other = make_member(council_b, CouncilRole.ADMIN)
    on_b = host_client(council_b)
    on_b.login(email=other.email, password=PASSWORD)
    on_a = host_client(council_a_ready)
    on_a.login(email=other.email, password=PASSWORD)

    assert on_b.get(f"/imports/{batch.pk}/").status_code == 404
    assert on_b.get(f"/imports/{batch.pk}/file/").status_code == 404
    assert "allpay.txt" not in on_b.get("/imports/").content.decode()
    assert on_a.get(f"/imports/{batch.pk}/file/").status_code in (302, 403, 404)


def test_a_manager_adds_an_import_rule_and_a_csv_mapping(council_a_ready):
    client = signed_in(council_a_ready, CouncilRole.FINANCE_MANAGER)
    with schema_context(council_a_ready.schema_name):
        from income.models import Fund

        rent = Fund.objects.get(code="RENT")
    assert client.get("/imports/rules/new/").status_code == 200
    response = client.post(
        "/imports/rules/new/",
        {
            "name": "Rents",
            "position": "10",
            "condition_1_field": "reference",
            "condition_1_operator": "starts_with",
            "condition_1_value": "RENT",
            "condition_2_field": "amount",
            "condition_2_operator": "greater_than",
            "condition_2_value": "1.00",
            "condition_3_field": "",
            "set_fund": str(rent.pk),
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()
    with schema_context(council_a_ready.schema_name):
        rule = ImportRule.objects.get()
    assert rule.conditions == [
        {"field": "reference", "operator": "starts_with", "value": "RENT"},
        {"field": "amount", "operator": "greater_than", "value": "100"},
    ]
    listing = client.get("/imports/rules/").content.decode()
    assert "Reference starts with “RENT”, and Amount is greater than “£1.00”" in listing

    mapping = client.post(
        "/imports/mappings/new/",
        {
            "name": "Barclays",
            "delimiter": ",",
            "header_rows": "1",
            "date_format": "%d/%m/%Y",
            "date_column": "1",
            "amount_column": "0",
            "credit_column": "3",
            "debit_column": "4",
            "reference_column": "5",
            "narrative_column": "2",
            "payer_name_column": "0",
            "currency_column": "0",
        },
    )
    assert mapping.status_code == 302, mapping.content.decode()
    with schema_context(council_a_ready.schema_name):
        assert CsvMapping.objects.get().credit_column == 3

    # The rule places the next import's line in Rents.
    upload(client)
    with schema_context(council_a_ready.schema_name):
        batch = run_import(ImportBatch.objects.get().pk)
        assert batch.fund_totals[0]["code"] == "RENT"
