"""Where a council's uploaded files live: under the data folder, in a folder per council
schema, named by their SHA-256. Never served directly, only through an authorising view."""

import hashlib
import os
import tempfile
from pathlib import Path
from typing import IO, NamedTuple

from django.conf import settings
from django.db import connection

from income.imports.content_digest import ContentDigest

CHUNK = 1024 * 1024


class UploadTooLarge(Exception):
    """The upload passed `max_bytes` while it was read; what was read is not kept."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"more than {max_bytes} bytes")
        self.max_bytes = max_bytes


def read_upload(upload: object, max_bytes: int) -> bytes:
    """An upload's bytes, read a chunk at a time and given up (UploadTooLarge) as soon as they
    pass `max_bytes`, whatever size the upload claims."""
    if (getattr(upload, "size", None) or 0) > max_bytes:
        raise UploadTooLarge(max_bytes)
    parts, size = [], 0
    for chunk in upload.chunks(CHUNK):  # type: ignore[attr-defined]
        size += len(chunk)
        if size > max_bytes:
            raise UploadTooLarge(max_bytes)
        parts.append(chunk)
    return b"".join(parts)


def council_folder(schema_name: str | None = None) -> Path:
    schema = schema_name or connection.schema_name
    return Path(settings.MEDIA_ROOT) / "councils" / schema / "imports"


def stored_path(sha256: str, schema_name: str | None = None) -> Path:
    if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
        raise ValueError("not a SHA-256 digest")
    return council_folder(schema_name) / sha256


class StoredUpload(NamedTuple):
    sha256: str
    size: int
    # What says it is the same file as another (income.imports.content_digest).
    content_sha256: str


def store_upload(chunks: IO[bytes] | object, max_bytes: int | None = None) -> StoredUpload:
    """Copy an upload into the council's folder, hashing as it goes. Past `max_bytes` it
    stops (UploadTooLarge) and keeps nothing."""
    folder = council_folder()
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    content = ContentDigest()
    size = 0
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".upload-")
    try:
        with os.fdopen(handle, "wb") as out:
            for chunk in chunks.chunks(CHUNK):  # type: ignore[attr-defined]
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise UploadTooLarge(max_bytes)
                digest.update(chunk)
                content.update(chunk)
                out.write(chunk)
        sha = digest.hexdigest()
        os.replace(temporary, stored_path(sha))
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return StoredUpload(sha, size, content.hexdigest())
