"""Payment files: upload one (the screen's limits and checks, income.actions.imports), follow
its progress, read its summary and every rejected line with its reason."""

import datetime
import enum

from django.db.models import Q
from django.http import HttpRequest
from ninja import File, Form, Path, Query, Router, Schema, Status, UploadedFile

from income.actions.api_clients import acting_identity
from income.actions.imports import upload_import
from income.api.auth import ClientToken, calling
from income.api.errors import BODY_REFUSALS, INPUT_REFUSALS, ApiRefusal, ErrorOut
from income.api.fields import MAX_ID, ONE_LINE
from income.formats.registry import FORMATS
from income.models import ApiScope, CsvMapping, ImportBatch

router = Router(tags=["imports"], auth=ClientToken(ApiScope.IMPORTS))
UPLOAD_URL_NAME = "imports"
ImportFormat = enum.StrEnum("ImportFormat", {name: name for name in FORMATS})
LINE_CURSOR = r"^\d{1,9}\.\d{1,18}$"


class FundTotal(Schema):
    code: str
    name: str
    count: int
    pence: int


class ImportOut(Schema):
    id: int
    file_name: str
    format: str
    status: str
    status_text: str
    message: str
    phase: str
    percent_done: int
    size_bytes: int
    bytes_read: int
    lines_read: int
    uploaded_at: datetime.datetime
    uploaded_by: str
    started_at: datetime.datetime | None
    finished_at: datetime.datetime | None
    receipts_created: int
    receipts_pence: int
    suspense_count: int
    suspense_pence: int
    adjustments_count: int
    adjustments_pence: int
    unexplained_debits_count: int
    unexplained_debits_pence: int
    duplicates_count: int
    duplicates_pence: int
    rejected_count: int
    fund_totals: list[FundTotal]
    problems: list[str]


class RejectedLineOut(Schema):
    line_number: int
    content: str
    reason: str


class RejectedPage(Schema):
    results: list[RejectedLineOut]
    next_cursor: str | None


class ImportList(Schema):
    results: list[ImportOut]
    next_cursor: str | None


def _import_answer(batch: ImportBatch) -> dict:
    return {
        "id": batch.pk,
        "file_name": batch.file_name,
        "format": batch.format,
        "status": batch.status,
        "status_text": batch.get_status_display(),
        "message": batch.message,
        "phase": batch.phase,
        "percent_done": batch.percent_done,
        "size_bytes": batch.size_bytes,
        "bytes_read": batch.bytes_read,
        "lines_read": batch.lines_read,
        "uploaded_at": batch.uploaded_at,
        "uploaded_by": batch.uploaded_by_email,
        "started_at": batch.started_at,
        "finished_at": batch.finished_at,
        **{
            name: getattr(batch, name)
            for name in (
                "receipts_created",
                "receipts_pence",
                "suspense_count",
                "suspense_pence",
                "adjustments_count",
                "adjustments_pence",
                "unexplained_debits_count",
                "unexplained_debits_pence",
                "duplicates_count",
                "duplicates_pence",
                "rejected_count",
            )
        },
        "fund_totals": batch.fund_totals or [],
        "problems": [str(problem) for problem in batch.problems or []],
    }


def _batch(import_id: int) -> ImportBatch:
    batch = ImportBatch.objects.filter(pk=import_id).first()
    if batch is None:
        raise ApiRefusal(404, f"There is no import {import_id}.")
    return batch


@router.post(
    "/imports",
    response={202: ImportOut, 413: ErrorOut, **BODY_REFUSALS},
    url_name=UPLOAD_URL_NAME,
)
def upload_import_file(
    request: HttpRequest,
    file: UploadedFile = File(..., description="The payment file"),
    format: ImportFormat = Form(..., description="Which format the file is in"),
    mapping: str = Form("", max_length=100, pattern=ONE_LINE, description="CSV mapping name"),
    default_date: datetime.date | None = Form(None, description="For lines without a date"),
) -> Status:
    """Upload a file to import (at most the size the screen takes). The import runs in the
    background: follow it at /imports/{id} until `status` is no longer queued or running.
    The same file is never imported twice (422, saying when it was)."""
    caller = calling(request)
    chosen_mapping = None
    if mapping.strip():
        chosen_mapping = CsvMapping.objects.filter(name=mapping.strip()).first()
        if chosen_mapping is None:
            raise ApiRefusal(422, f"There is no column mapping called “{mapping.strip()}”.")
    batch = upload_import(
        council=caller.council,
        uploaded_file=file,
        format_name=str(format),
        mapping=chosen_mapping,
        default_date=default_date,
        acting_user=acting_identity(caller.client, caller.council),
    )
    return Status(202, _import_answer(batch))


@router.get("/imports", response={200: ImportList, **INPUT_REFUSALS})
def list_imports(
    request: HttpRequest,
    before: int | None = Query(None, ge=1, le=MAX_ID, description="next_cursor of the last page"),
    limit: int = Query(50, ge=1, le=100),
) -> dict:
    """Imports, newest first."""
    batches = ImportBatch.objects.order_by("-id")
    if before is not None:
        batches = batches.filter(pk__lt=before)
    page = list(batches[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return {
        "results": [_import_answer(batch) for batch in page],
        "next_cursor": str(page[-1].pk) if more else None,
    }


@router.get("/imports/{import_id}", response={200: ImportOut, **INPUT_REFUSALS})
def read_import(request: HttpRequest, import_id: int = Path(..., ge=1, le=MAX_ID)) -> dict:
    """The import's progress, and once finished its summary: receipts and value per fund,
    suspense, money taken back, lines held as possible duplicates, rejected lines."""
    return _import_answer(_batch(import_id))


@router.get("/imports/{import_id}/rejected-lines", response={200: RejectedPage, **INPUT_REFUSALS})
def read_rejected_lines(
    request: HttpRequest,
    import_id: int = Path(..., ge=1, le=MAX_ID),
    after: str = Query("", pattern=rf"{LINE_CURSOR}|^$", description="next_cursor"),
    limit: int = Query(200, ge=1, le=1000),
) -> dict:
    """Every line the import could not take, in file order, with its content and why."""
    lines = _batch(import_id).rejected.order_by("line_number", "id")
    if after:
        line_number, _, line_id = after.partition(".")
        lines = lines.filter(
            Q(line_number__gt=int(line_number))
            | Q(line_number=int(line_number), id__gt=int(line_id))
        )
    page = list(lines[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return {
        "results": [
            {"line_number": line.line_number, "content": line.content, "reason": line.reason}
            for line in page
        ],
        "next_cursor": f"{page[-1].line_number}.{page[-1].pk}" if more else None,
    }
