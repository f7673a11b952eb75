"""Imports and exports through the API: upload a payment file (the screen's limits), follow
it, read its summary and rejected lines; list export files and download one byte for byte."""

import hashlib
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from income.actions.exports import run_export
from income.exports.export_file import export_bytes
from income.exports.layout import parse_fields
from income.formats import allpay
from income.imports.pipeline import run_import
from income.models import ExportTarget, ImportBatch
from tests.income.api.helpers import post_json, split_payment
from tests.security.test_upload_size import StreamedUpload, post_streamed

MEGABYTE = 1024 * 1024


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def allpay_content() -> bytes:
    import datetime

    day = datetime.date(2026, 11, 20)
    lines = [
        allpay.write_line(reference="50000009", amount_pence=12_345, letter="P", date=day),
        allpay.write_line(reference="UNKNOWN1", amount_pence=2_500, letter="N", date=day),
        allpay.write_line(reference="50000009", amount_pence=99_999, letter="P", date=day)[:40],
        allpay.write_line(reference="50000009", amount_pence=1_000, letter="P", date=day)[:30],
    ]
    # The trailer counts every line and totals those whose amount can be read.
    body = lines + allpay.write_trailer(total_pence=12_345 + 2_500 + 99_999, count=4)
    return ("\r\n".join(body) + "\r\n").encode("latin-1")


def upload(api, content: bytes, name: str = "allpay.txt"):
    return api.post(
        "/api/v1/imports",
        {
            "file": SimpleUploadedFile(name, content),
            "format": "allpay",
            "default_date": "2026-11-20",
        },
    )


def test_a_file_is_uploaded_followed_and_its_rejected_lines_read(api):
    response = upload(api, allpay_content())
    assert response.status_code == 202, response.content
    queued = response.json()
    assert queued["status"] == "queued" and queued["uploaded_by"].startswith("revenues-system.")
    run_import(queued["id"])  # what the worker does once the upload commits

    summary = api.get(f"/api/v1/imports/{queued['id']}").json()
    assert summary["status"] == "completed" and summary["percent_done"] == 100
    assert summary["receipts_created"] == 2 and summary["rejected_count"] == 2
    assert summary["fund_totals"] == [
        {"code": "CTAX", "name": "Council Tax", "count": 1, "pence": 12_345}
    ]
    assert summary["suspense_count"] == 1 and summary["suspense_pence"] == 2_500
    first = api.get(f"/api/v1/imports/{queued['id']}/rejected-lines", {"limit": 1}).json()
    assert [line["line_number"] for line in first["results"]] == [3]
    rest = api.get(
        f"/api/v1/imports/{queued['id']}/rejected-lines", {"after": first["next_cursor"]}
    ).json()
    assert [line["line_number"] for line in rest["results"]] == [4]
    assert rest["next_cursor"] is None and all(line["reason"] for line in rest["results"])
    listed = api.get("/api/v1/imports").json()["results"]
    assert [batch["id"] for batch in listed] == [queued["id"]]


def test_the_same_file_twice_is_refused_saying_when(api):
    first = upload(api, allpay_content()).json()
    again = upload(api, allpay_content(), name="copy.txt")
    assert again.status_code == 422
    assert again.json()["detail"].startswith("This file was already imported on")
    assert f"as import {first['id']} (allpay.txt)" in again.json()["detail"]
    assert ImportBatch.objects.count() == 1


def test_an_upload_declared_over_the_screens_limit_is_refused_unread(api):
    upload_body = StreamedUpload({"format": "allpay"}, 151 * MEGABYTE)
    response = post_streamed(api, "/api/v1/imports", upload_body)
    assert response.status_code == 413, response.content[:300]
    assert json.loads(response.content)["detail"] == (
        "The file is larger than 150 MB, the largest this API takes: it was not read or kept."
    )
    assert upload_body.position == 0
    assert not ImportBatch.objects.exists()


def test_an_upload_past_the_limit_is_stopped_while_it_streams_in(api):
    """Declared within the framing slack, the file itself is over: the screen's streaming
    handler stops it at the limit (tenants.upload_limits), and the API answers 413."""
    upload_body = StreamedUpload({"format": "allpay"}, 150 * MEGABYTE + 32 * 1024)
    response = post_streamed(api, "/api/v1/imports", upload_body)
    assert response.status_code == 413
    assert json.loads(response.content)["detail"] == (
        "The file is larger than 150 MB, the largest this page takes: it was not read or kept."
    )
    assert not ImportBatch.objects.exists()


def test_an_unknown_format_is_refused(api):
    response = api.post(
        "/api/v1/imports", {"file": SimpleUploadedFile("x.txt", b"x"), "format": "nope"}
    )
    assert response.status_code == 422
    assert response.json()["detail"].startswith("The request is not valid: format: Input should")


def test_export_files_are_listed_and_downloaded_byte_for_byte(api, admin, ledger, funds):
    post_json(api, "/api/v1/receipts", split_payment())
    target = ExportTarget.objects.create(
        name="Revenues", fields=parse_fields("receipt_number\nreference\nfund_code\namount")
    )
    target.funds.set([funds["CTAX"]])
    run = run_export(council=ledger, target=target, acting_user=admin)

    (listed,) = api.get("/api/v1/exports").json()["results"]
    assert listed["id"] == run.pk and listed["target"] == "Revenues"
    assert listed["line_count"] == run.line_count and listed["income_pence"] == 10_000
    download = api.get(f"/api/v1/exports/{run.pk}/file")
    assert download.status_code == 200
    content = b"".join(download.streaming_content)
    assert content == export_bytes(run.sha256)
    assert hashlib.sha256(content).hexdigest() == listed["sha256"]
    assert api.get(f"/api/v1/exports/{run.pk + 1}/file").json() == {
        "detail": f"There is no finished export {run.pk + 1}.",
        "errors": [],
    }
