"""The API's wiring: one NinjaAPI for /api/v1/ with its routers, its error answers, its docs
(Swagger UI from django-ninja's own static files: no CDN, and no inline script, so the
site's Content-Security-Policy holds), and the upload limit of the import path."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers
from ninja import NinjaAPI, Router
from ninja.openapi.docs import Swagger

from income.actions.imports import MAX_IMPORT_BYTES
from income.api import exports, funds, imports, receipts_read, receipts_write, refunds, suspense
from income.api.errors import ApiRefusal, install_error_answers
from tenants.upload_limits import upload_limit

DESCRIPTION = """\
The council's income data for its own systems: funds and reference rules, receipts (search,
read, record), payment-file imports, export files, suspense and refunds.

Authenticate with a client's token (a council admin creates clients under Configuration →
API clients): `Authorization: Bearer cfk_…`. Writes need an `Idempotency-Key` header.
Amounts are whole pence. Errors are `{"detail": "...", "errors": [...]}`.
"""


class CouncilApi(NinjaAPI):
    def get_openapi_operation_id(self, operation: Any) -> str:
        # The function's own name (create_receipt), for clients generated from the document.
        return operation.view_func.__name__

    def create_response(
        self, request: HttpRequest, data: Any, *, status: int | None = None, **kwargs: Any
    ) -> HttpResponse:
        response = super().create_response(request, data, status=status, **kwargs)
        # Payers' names and references: never kept by a browser's or a proxy's cache.
        add_never_cache_headers(response)
        return response


api = CouncilApi(
    title="Counterfoil API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api-v1",
    docs=Swagger(settings={"validatorUrl": None, "tryItOutEnabled": False}),
    docs_url="/docs",
    openapi_url="/openapi.json",
)
install_error_answers(api)
assert receipts_write  # its operations are on the receipts router
for resource in (funds, receipts_read, imports, exports, suspense, refunds):
    api.add_router("", resource.router)

unknown_paths = Router()


@unknown_paths.api_operation(
    ["GET", "POST", "PUT", "PATCH", "DELETE"], "/{path:rest}", include_in_schema=False
)
def unknown_path(request: HttpRequest, rest: str) -> None:
    """A path under /api/v1/ that is none of the above: JSON 404, as every other answer."""
    raise ApiRefusal(404, "There is no such path in this API: see /api/v1/docs.")


api.add_router("", unknown_paths)


def api_urls() -> tuple[list, str, str]:
    """The URL patterns, the import upload marked with the screen's size limit (read by
    tenants.upload_limits while the body streams in)."""
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        if getattr(pattern, "name", None) == imports.UPLOAD_URL_NAME:
            upload_limit(MAX_IMPORT_BYTES)(pattern.callback)
    return patterns, app_name, namespace
