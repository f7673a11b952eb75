"""The largest file each page takes, checked while the upload streams in.

Django reads a multipart body whole (to memory or a temporary file) before a view sees it, so
a size check in the view comes after a 400 MB upload has already been taken in. This handler
runs first among the upload handlers (settings.FILE_UPLOAD_HANDLERS) and stops the upload as
soon as its files pass the limit of the page receiving it (`@upload_limit(...)` on the view;
settings.FILE_UPLOAD_MAX_BYTES otherwise): nothing more of it is kept, in memory or on disk.
Nothing more of the body is read (StopUpload with connection_reset): Django's way of reading
the rest and dropping it goes a line at a time, and a body without line breaks is one line,
read whole. The form fields before the file (the CSRF token) are kept, so the page answers
with its own message; the server closes the connection on what was left unread.
"""

from collections.abc import Callable
from typing import Any, TypeVar

from django import forms
from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest

View = TypeVar("View", bound=Callable[..., Any])
MEGABYTE = 1024 * 1024


def upload_limit(max_bytes: int) -> Callable[[View], View]:
    """The most file data (all files of one request together) the view accepts."""

    def mark(view: View) -> View:
        view.max_upload_bytes = max_bytes  # type: ignore[attr-defined]
        return view

    return mark


def limit_for(request: HttpRequest | None) -> int:
    match = getattr(request, "resolver_match", None)
    view = getattr(match, "func", None)
    return getattr(view, "max_upload_bytes", settings.FILE_UPLOAD_MAX_BYTES)


class SizeLimitedUploadHandler(FileUploadHandler):
    """Passes file data on to the next handlers until the page's limit, then stops."""

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.limit = limit_for(request)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        if self.received > self.limit:
            if self.request is not None:
                self.request.upload_refused_over = self.limit  # type: ignore[attr-defined]
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler (memory or temporary file) makes the file


def upload_refusal(request: HttpRequest) -> str | None:
    """The message for an upload stopped for its size, or None."""
    limit = getattr(request, "upload_refused_over", None)
    if limit is None:
        return None
    return (
        f"The file is larger than {limit // MEGABYTE} MB, the largest this page takes: "
        "it was not read or kept."
    )


def refuse_oversized_upload(request: HttpRequest, form: forms.Form, field: str = "file") -> bool:
    """If the upload was stopped for its size, say so on the form's file field (in place of
    "required": the file never arrived) and return True."""
    message = upload_refusal(request)
    if message is None:
        return False
    form.is_valid()
    form.errors[field] = form.error_class([message])
    return True
