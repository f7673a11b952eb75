"""With STORAGE_BUCKET set, a council's imports, exports and archive live in the S3 bucket (a
real S3-compatible server over HTTP) under the council's own prefix: uploaded, imported, made,
downloaded and archived from there, nothing on the local disk, and no council reaching
another's objects."""

import datetime
import io
import json
import secrets
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from income.actions.exports import run_export
from income.actions.imports import upload_import
from income.actions.receipts import Allocation, record_receipt
from income.exports.layout import parse_fields
from income.formats import allpay
from income.imports.pipeline import run_import
from income.models import ExportTarget, ImportBatch, ImportStatus, Receipt, ReferenceRule
from tenants.actions.councils import create_council
from tenants.archiving import MANIFEST_NAME, archive_schema
from tenants.file_store import FileArea, council_files
from tenants.models import CouncilRole
from tests.conftest import host_client, make_member, sign_in
from tests.factories import FundFactory
from tests.fixtures.worker import start_worker, stop_process, worker_environment
from tests.waiting import wait_for

DAY = datetime.date(2026, 11, 20)
REPOSITORY = Path(__file__).resolve().parents[2]


def parking_file(count: int) -> bytes:
    lines = [
        allpay.write_line(reference=f"PCN{n:06d}", amount_pence=1_000 + n, letter="T", date=DAY)
        for n in range(1, count + 1)
    ]
    total = sum(1_000 + n for n in range(1, count + 1))
    lines += allpay.write_trailer(total_pence=total, count=count)
    return ("\r\n".join(lines) + "\r\n").encode()


@pytest.fixture
def parking(ledger):
    rule = ReferenceRule.objects.create(name="Parking", pattern=r"PCN\d{6}")
    return FundFactory(code="PARK", name="Parking Fines", reference_rule=rule)


def local_files(settings) -> list[Path]:
    return [path for path in Path(settings.DATA_DIR).rglob("*") if path.is_file()]


def test_an_upload_is_kept_imported_and_downloaded_from_the_councils_prefix(
    council_a, council_b, parking, files_in_bucket, settings
):
    officer = make_member(council_a, CouncilRole.INCOME_OFFICER)
    content = parking_file(3)
    batch = upload_import(
        council=council_a,
        uploaded_file=SimpleUploadedFile("allpay.txt", content),
        format_name="allpay",
        acting_user=officer,
    )
    key = f"councils/{council_a.schema_name}/imports/{batch.sha256}"

    assert files_in_bucket.keys(f"councils/{council_a.schema_name}/") == [key]
    assert files_in_bucket.read(key) == content
    assert local_files(settings) == []  # the scratch copy went with the upload

    batch = run_import(batch.pk)
    assert batch.status == ImportStatus.COMPLETED, batch.message
    assert Receipt.objects.filter(import_batch=batch).count() == 3
    assert local_files(settings) == []  # the reader's copy went with the import

    response = sign_in(host_client(council_a), officer).get(f"/imports/{batch.pk}/file/")
    assert b"".join(response.streaming_content) == content
    # Council B's files are another prefix: the same name is not there, and no name leaves it.
    on_b = council_files(FileArea.IMPORTS, council_b.schema_name)
    assert not on_b.exists(batch.sha256)
    for escape in (f"../../{council_a.schema_name}/imports/{batch.sha256}", "..", "a/b", ""):
        with pytest.raises(ValueError, match="not a plain file name"):
            on_b.open(escape)


def test_an_export_is_made_into_the_bucket_and_downloaded_from_it(
    council_a, parking, files_in_bucket, settings, cash
):
    record_receipt(
        channel=cash,
        amount_pence=4_200,
        received_on=DAY,
        allocations=[Allocation(parking, 4_200, reference="PCN000042")],
        idempotency_key="bucket-export",
        acting_user=None,
    )
    target = ExportTarget.objects.create(
        name="Parking system", fields=parse_fields("reference\namount")
    )
    target.funds.set([parking])
    manager = make_member(council_a, CouncilRole.FINANCE_MANAGER)

    run = run_export(council=council_a, target=target, acting_user=manager)

    key = f"councils/{council_a.schema_name}/exports/{run.sha256}"
    assert files_in_bucket.keys(f"councils/{council_a.schema_name}/exports/") == [key]
    assert files_in_bucket.read(key) == (
        b"reference,amount\r\nPCN000042,42.00\r\nTRAILER,1,42.00\r\n"
    )
    assert local_files(settings) == []
    response = sign_in(host_client(council_a), manager).get(f"/exports/runs/{run.pk}/file/")
    assert b"".join(response.streaming_content) == files_in_bucket.read(key)


def test_a_councils_archive_goes_to_the_archives_prefix_the_lifecycle_rule_expires(
    council_a, parking, files_in_bucket, settings
):
    made = archive_schema(council_a, stamp="20261204T000000Z")

    key = f"archives/{council_a.schema_name}/{council_a.schema_name}-20261204T000000Z.zip"
    assert made.key == key
    assert files_in_bucket.keys(f"archives/{council_a.schema_name}/") == [key]
    with zipfile.ZipFile(io.BytesIO(files_in_bucket.read(key))) as archive:
        manifest = json.loads(archive.read(MANIFEST_NAME))
    assert manifest["schema"] == council_a.schema_name
    assert manifest["tables"]["income_fund"]["rows"] == 1
    assert local_files(settings) == []
    lifecycle = (Path(__file__).parents[2] / "terraform/modules/storage/main.tf").read_text()
    assert 'prefix = "archives/"' in lifecycle


@pytest.fixture
def committed(django_db_blocker):
    with django_db_blocker.unblock():
        yield


UPLOAD_IN_ANOTHER_PROCESS = """
import os
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django_tenants.utils import schema_context
from income.actions.imports import upload_import
from tenants.models import Council

council = Council.objects.get(schema_name=os.environ["UPLOAD_SCHEMA"])
with open(os.environ["UPLOAD_FILE"], "rb") as upload, schema_context(council.schema_name):
    with transaction.atomic():
        batch = upload_import(
            council=council,
            uploaded_file=SimpleUploadedFile("paypoint.txt", upload.read()),
            format_name="allpay",
            acting_user=None,
        )
print(batch.pk)
"""


@pytest.mark.worker
def test_a_worker_with_no_disk_in_common_imports_what_the_web_process_put_in_the_bucket(
    django_db_setup, s3_server, committed, tmp_path
):
    """A web process and a worker that share only the database, a broker and the bucket, as
    two tasks on ECS do: each has a data folder of its own."""
    council = create_council(
        name="Bucket Worker Council", slug=f"bkt-{secrets.token_hex(3)}", acting_user=None
    )
    with schema_context(council.schema_name):
        rule = ReferenceRule.objects.create(name="Parking", pattern=r"PCN\d{6}")
        FundFactory(code="PARK", name="Parking Fines", reference_rule=rule)
    shared = {**s3_server.environment(), "COUNTERFOIL_BROKER_DIR": str(tmp_path / "broker")}
    worker = start_worker(
        worker_environment(**shared, COUNTERFOIL_DATA_DIR=str(tmp_path / "worker")),
        tmp_path / "worker.log",
    )
    try:
        upload = tmp_path / "paypoint.txt"
        upload.write_bytes(parking_file(20))
        web = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", UPLOAD_IN_ANOTHER_PROCESS],
            env=worker_environment(
                **shared, COUNTERFOIL_DATA_DIR=str(tmp_path / "web"),
                UPLOAD_SCHEMA=council.schema_name, UPLOAD_FILE=str(upload),
            ),
            cwd=REPOSITORY, capture_output=True, text=True, check=True,
        )  # fmt: skip
        batch_pk = int(web.stdout.split()[-1])
        with schema_context(council.schema_name):
            running = (ImportStatus.QUEUED, ImportStatus.RUNNING)
            batch = wait_for(
                lambda: ImportBatch.objects.filter(pk=batch_pk).exclude(status__in=running).first(),
                timeout=60,
            )
            assert batch.status == ImportStatus.COMPLETED, (batch.message, worker.log())
            assert Receipt.objects.filter(import_batch=batch).count() == 20
    finally:
        stop_process(worker.process)
    assert s3_server.keys(f"councils/{council.schema_name}/") == [
        f"councils/{council.schema_name}/imports/{batch.sha256}"
    ]
    assert not (tmp_path / "worker" / "files").exists()  # it read the bucket, not a disk
    assert not (tmp_path / "web" / "files").exists()
