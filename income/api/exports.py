"""Export files made for the council's back-office systems: list them, download one (the same
bytes every time, income.actions.exports)."""

import datetime

from django.http import FileResponse, HttpRequest
from ninja import Path, Query, Router, Schema

from income.api.auth import ClientToken
from income.api.errors import INPUT_REFUSALS, ApiRefusal
from income.api.fields import MAX_ID
from income.exports.export_file import open_export
from income.models import ApiScope, ExportRun, ExportStatus

router = Router(tags=["exports"], auth=ClientToken(ApiScope.EXPORTS))


class ExportOut(Schema):
    id: int
    target: str
    status: str
    message: str
    created_at: datetime.datetime
    finished_at: datetime.datetime | None
    file_name: str
    sha256: str
    size_bytes: int
    line_count: int
    income_pence: int
    outgoing_pence: int
    total_pence: int


class ExportList(Schema):
    results: list[ExportOut]
    next_cursor: str | None


def _export_answer(run: ExportRun) -> dict:
    return {
        "id": run.pk,
        "target": run.target.name,
        "status": run.status,
        "message": run.message,
        "created_at": run.created_at,
        "finished_at": run.finished_at,
        "file_name": run.file_name,
        "sha256": run.sha256,
        "size_bytes": run.size_bytes,
        "line_count": run.line_count,
        "income_pence": run.income_pence,
        "outgoing_pence": run.outgoing_pence,
        "total_pence": run.total_pence,
    }


@router.get("/exports", response={200: ExportList, **INPUT_REFUSALS})
def list_exports(
    request: HttpRequest,
    before: int | None = Query(None, ge=1, le=MAX_ID, description="next_cursor of the last page"),
    limit: int = Query(50, ge=1, le=100),
) -> dict:
    """Export runs, newest first, with what each file holds."""
    runs = ExportRun.objects.select_related("target").order_by("-id")
    if before is not None:
        runs = runs.filter(pk__lt=before)
    page = list(runs[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return {
        "results": [_export_answer(run) for run in page],
        "next_cursor": str(page[-1].pk) if more else None,
    }


@router.get(
    "/exports/{export_id}/file",
    response=INPUT_REFUSALS,
    openapi_extra={
        "responses": {
            "200": {
                "description": "The file, byte for byte as made",
                "content": {
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
                },
            }
        }
    },
)
def download_export(
    request: HttpRequest, export_id: int = Path(..., ge=1, le=MAX_ID)
) -> FileResponse:
    run = ExportRun.objects.filter(pk=export_id, status=ExportStatus.COMPLETED).first()
    if run is None:
        raise ApiRefusal(404, f"There is no finished export {export_id}.")
    try:
        stream = open_export(run.sha256)
    except FileNotFoundError:
        raise ApiRefusal(404, "The file is no longer kept.") from None
    return FileResponse(
        stream,
        as_attachment=True,
        filename=run.file_name,
        content_type="application/octet-stream",
    )
