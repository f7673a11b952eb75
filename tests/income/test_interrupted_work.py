"""Imports and exports a vanished worker left under way are sent again by the beat's sweep, and
only those: work a live worker holds, work too recent to judge and finished work are left."""

import datetime
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from income.actions.imports import upload_import
from income.actions.interrupted_work import resume_interrupted_work
from income.exports.layout import parse_fields
from income.formats import allpay
from income.models import (
    ExportRun,
    ExportStatus,
    ExportTarget,
    ImportBatch,
    ImportStatus,
    Receipt,
    ReferenceRule,
)
from tenants.actions.councils import create_council
from tenants.audit.models import AuditEvent
from tests.factories import FundFactory
from tests.fixtures.worker import WORKER_COMMAND, stop_process, worker_environment
from tests.waiting import wait_for

DAY = datetime.date(2026, 11, 20)
REPOSITORY = Path(__file__).resolve().parents[2]


def parking_file(count: int, first: int = 1) -> bytes:
    numbers = range(first, first + count)
    lines = [
        allpay.write_line(reference=f"PCN{n:06d}", amount_pence=100 + n % 900, letter="T", date=DAY)
        for n in numbers
    ]
    total = sum(100 + n % 900 for n in numbers)
    lines += allpay.write_trailer(total_pence=total, count=count)
    return ("\r\n".join(lines) + "\r\n").encode()


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def parking(ledger):
    rule = ReferenceRule.objects.create(name="Parking", pattern=r"PCN\d{6}")
    return FundFactory(code="PARK", name="Parking Fines", reference_rule=rule)


def batch_from(council, minutes_ago: int, status: str, *, started: bool) -> ImportBatch:
    batch = upload_import(
        council=council,
        uploaded_file=SimpleUploadedFile(
            "allpay.txt", parking_file(2, first=ImportBatch.objects.count() * 10 + 1)
        ),
        format_name="allpay",
        acting_user=None,
    )
    moment = timezone.now() - datetime.timedelta(minutes=minutes_ago)
    ImportBatch.objects.filter(pk=batch.pk).update(
        uploaded_at=moment, status=status, started_at=moment if started else None
    )
    return batch


def test_only_imports_no_worker_holds_are_sent_again(
    council_a, parking, django_capture_on_commit_callbacks
):
    lost_queued = batch_from(council_a, 30, ImportStatus.QUEUED, started=False)
    lost_running = batch_from(council_a, 30, ImportStatus.RUNNING, started=True)
    held = batch_from(council_a, 30, ImportStatus.RUNNING, started=True)
    recent = batch_from(council_a, 1, ImportStatus.QUEUED, started=False)
    finished = batch_from(council_a, 30, ImportStatus.COMPLETED, started=True)
    # A live worker importing `held`: its advisory lock, taken on a connection of its own.
    with psycopg.connect(_test_database_url(), autocommit=True) as worker:
        worker.execute(
            "SELECT pg_advisory_lock(hashtext(%s), %s::integer)",
            [connection.schema_name, held.pk],
        )
        with django_capture_on_commit_callbacks() as sent:
            resumed = resume_interrupted_work(acting_user=None)

    assert sorted(resumed.imports) == sorted([lost_queued.pk, lost_running.pk])
    assert len(sent) == 2
    audited = AuditEvent.objects.filter(action="import.resumed")
    assert sorted(int(event.target_id) for event in audited) == sorted(resumed.imports)
    assert not {held.pk, recent.pk, finished.pk} & set(resumed.imports)
    # The sweep let go of every lock it tried: the lost imports can be taken by a worker.
    # (objsubid 1 and 2: locks taken with pg_advisory_lock; Citus takes its own, on shards,
    # under other numbers.)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid IN (1, 2)"
            " AND pid = pg_backend_pid()"
        )
        assert cursor.fetchone()[0] == 0


def test_only_exports_no_worker_is_making_are_sent_again(
    council_a, parking, django_capture_on_commit_callbacks
):
    target, other = (
        ExportTarget.objects.create(name=name, fields=parse_fields("amount"))
        for name in ("Revenues", "Housing")
    )
    long_ago = timezone.now() - datetime.timedelta(minutes=30)
    lost = ExportRun.objects.create(target=target, status=ExportStatus.RUNNING)
    recent = ExportRun.objects.create(target=other, status=ExportStatus.QUEUED)
    done = ExportRun.objects.create(target=target, status=ExportStatus.COMPLETED)
    ExportRun.objects.filter(pk__in=[lost.pk, done.pk]).update(
        created_at=long_ago, started_at=long_ago
    )

    with django_capture_on_commit_callbacks() as sent:
        resumed = resume_interrupted_work(acting_user=None)

    assert resumed.exports == [lost.pk] and len(sent) == 1
    assert recent.pk not in resumed.exports and done.pk not in resumed.exports
    assert AuditEvent.objects.filter(action="export.resumed", target_id=str(lost.pk)).exists()


def _test_database_url() -> str:
    import os

    from psycopg.conninfo import make_conninfo

    return make_conninfo(os.environ["DATABASE_URL"], dbname=settings.DATABASES["default"]["NAME"])


@pytest.fixture
def committed(django_db_blocker):
    with django_db_blocker.unblock():
        yield


SWEEP = (
    "import os\n"
    "from django_tenants.utils import schema_context\n"
    "from income.actions.interrupted_work import resume_interrupted_work\n"
    "with schema_context(os.environ['SWEEP_SCHEMA']):\n"
    "    print(resume_interrupted_work(acting_user=None).imports)\n"
)


@pytest.mark.worker
def test_an_import_whose_worker_is_killed_is_imported_once_by_the_next(
    django_db_setup, committed, tmp_path
):
    """The worker is stopped mid-import and then killed (as ECS does when the stop timeout
    runs out): nothing of the file is in the ledger, the broker's message went with the worker,
    and the sweep sends the import again to the next worker, which imports every line once."""
    council = create_council(
        name="Killed Import Council", slug=f"kill-{secrets.token_hex(3)}", acting_user=None
    )
    count = 150_000
    env = worker_environment(
        COUNTERFOIL_BROKER_DIR=str(tmp_path / "broker"),
        COUNTERFOIL_DATA_DIR=str(tmp_path / "data"),
        RESUME_AFTER_SECONDS="0",
    )
    settings_media = Path(env["COUNTERFOIL_DATA_DIR"]) / "files"
    with schema_context(council.schema_name):
        rule = ReferenceRule.objects.create(name="Parking", pattern=r"PCN\d{6}")
        FundFactory(code="PARK", name="Parking Fines", reference_rule=rule)

    def in_shell(code: str, **extra: str) -> str:
        return subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code],
            env={**env, **extra}, cwd=REPOSITORY, check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip

    upload = tmp_path / "big.txt"
    upload.write_bytes(parking_file(count))
    batch_pk = int(
        in_shell(
            "import os\n"
            "from django.core.files.uploadedfile import SimpleUploadedFile\n"
            "from django.db import transaction\n"
            "from django_tenants.utils import schema_context\n"
            "from income.actions.imports import upload_import\n"
            "from tenants.models import Council\n"
            "council = Council.objects.get(schema_name=os.environ['SWEEP_SCHEMA'])\n"
            "with schema_context(council.schema_name), transaction.atomic():\n"
            "    data = open(os.environ['UPLOAD'], 'rb').read()\n"
            "    print(upload_import(council=council, acting_user=None, format_name='allpay',\n"
            "        uploaded_file=SimpleUploadedFile('big.txt', data)).pk)\n",
            SWEEP_SCHEMA=council.schema_name,
            UPLOAD=str(upload),
        ).split()[-1]
    )
    assert (settings_media / "councils" / council.schema_name / "imports").exists()

    def batch() -> ImportBatch:
        with schema_context(council.schema_name):
            return ImportBatch.objects.get(pk=batch_pk)

    first = subprocess.Popen(
        WORKER_COMMAND, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for(lambda: batch().lines_read > 0, timeout=60, interval=0.02)
    finally:
        # As ECS stops a task: SIGTERM (the worker waits for its task to finish), then SIGKILL
        # when the stop timeout (here a second) runs out before the import does.
        first.send_signal(signal.SIGTERM)
        try:
            first.wait(timeout=1)
        except subprocess.TimeoutExpired:
            first.send_signal(signal.SIGKILL)
            first.wait()
    killed = batch()
    assert killed.status == ImportStatus.RUNNING, "the import finished before the kill"
    with schema_context(council.schema_name):
        assert not Receipt.objects.filter(import_batch_id=batch_pk).exists()  # all or nothing

    second = subprocess.Popen(
        WORKER_COMMAND, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        swept = in_shell(SWEEP, SWEEP_SCHEMA=council.schema_name).strip().splitlines()[-1]
        assert swept == f"[{batch_pk}]"
        wait_for(lambda: batch().status != ImportStatus.RUNNING, timeout=120)
    finally:
        stop_process(second)
    done = batch()
    assert done.status == ImportStatus.COMPLETED, done.message
    with schema_context(council.schema_name):
        receipts = Receipt.objects.filter(import_batch_id=batch_pk)
        assert receipts.count() == count == done.receipts_created
        assert receipts.values("import_line_number").distinct().count() == count
