"""Every refusal is JSON `{"detail": "...", "errors": [...]}` with a status the OpenAPI
document lists for the operation, so a client (and Schemathesis) meets no other shape."""

from typing import Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as ActionRefused
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as RequestInvalid

from tenants.upload_limits import upload_refusal


class ErrorOut(Schema):
    detail: str
    errors: list[str] = []


class ApiRefusal(Exception):
    """Refuse the request with `status` and a message (and headers, e.g. Retry-After)."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers or {}


# What any operation may answer besides its success: no or a malformed token (401), a scope
# it lacks or an expired or revoked client (403), a token this council does not know or a
# missing object (404), over the rate limit (429).
REFUSALS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 429: ErrorOut}
# ...and for an operation that takes input: input it cannot take (422).
INPUT_REFUSALS: dict[int, Any] = {**REFUSALS, 422: ErrorOut}
# ...and for one that takes a body: a body that cannot be read at all (400).
BODY_REFUSALS: dict[int, Any] = {**INPUT_REFUSALS, 400: ErrorOut}


def answer(api: NinjaAPI, request: HttpRequest, status: int, detail: str, **extra: Any) -> Any:
    headers = extra.pop("headers", {})
    body = {"detail": detail, "errors": extra.pop("errors", [])}
    response = api.create_response(request, body, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


def _field_problem(error: dict[str, Any]) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()) if part not in ("body", "form"))
    return f"{where}: {error.get('msg', 'is not valid')}" if where else error.get("msg", "")


def install_error_answers(api: NinjaAPI) -> None:
    def refused(request: HttpRequest, exc: ApiRefusal) -> HttpResponse:
        return answer(api, request, exc.status, exc.detail, headers=exc.headers)

    def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return answer(
            api, request, 401,
            "Send the client's token in an Authorization header: `Bearer cfk_…`.",
            headers={"WWW-Authenticate": 'Bearer realm="counterfoil"'},
        )  # fmt: skip

    def invalid_request(request: HttpRequest, exc: RequestInvalid) -> HttpResponse:
        oversized = upload_refusal(request)
        if oversized:  # the upload was stopped while it streamed in (tenants.upload_limits)
            return answer(api, request, 413, oversized)
        problems = [_field_problem(error) for error in exc.errors]
        return answer(
            api, request, 422, "The request is not valid: " + "; ".join(problems), errors=problems
        )

    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        if exc.status_code == 400:  # django-ninja could not parse the body
            return answer(api, request, 400, "The request body could not be read as JSON.")
        return answer(api, request, exc.status_code, str(exc))

    def action_refused(request: HttpRequest, exc: ActionRefused) -> HttpResponse:
        return answer(api, request, 422, " ".join(exc.messages), errors=exc.messages)

    def forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
        return answer(api, request, 403, str(exc) or "This client may not do this.")

    def not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
        return answer(api, request, 404, str(exc) or "Not found.")

    def too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
        return answer(api, request, 413, "The request body is too large.")

    api.add_exception_handler(ApiRefusal, refused)
    api.add_exception_handler(HttpError, http_error)
    api.add_exception_handler(AuthenticationError, unauthenticated)
    api.add_exception_handler(RequestInvalid, invalid_request)
    api.add_exception_handler(ActionRefused, action_refused)
    api.add_exception_handler(PermissionDenied, forbidden)
    api.add_exception_handler(Http404, not_found)
    api.add_exception_handler(ObjectDoesNotExist, not_found)
    api.add_exception_handler(RequestDataTooBig, too_big)
