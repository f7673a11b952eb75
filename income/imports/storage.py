"""A council's uploaded files: read with a limit, kept in its own area of the file store
(tenants.file_store) named by their SHA-256. Never served directly, only through an
authorising view."""

import hashlib
import os
import tempfile
from pathlib import Path
from typing import IO, NamedTuple

from income.imports.content_digest import ContentDigest
from tenants.file_store import CouncilFiles, FileArea, council_files

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


def import_files(schema_name: str | None = None) -> CouncilFiles:
    """The council's uploaded files, each named by its SHA-256 (tenants.file_store)."""
    return council_files(FileArea.IMPORTS, schema_name)


def check_digest(sha256: str) -> str:
    if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
        raise ValueError("not a SHA-256 digest")
    return sha256


class StoredUpload(NamedTuple):
    sha256: str
    size: int
    # What says it is the same file as another (income.imports.content_digest).
    content_sha256: str


def store_upload(chunks: IO[bytes] | object, max_bytes: int | None = None) -> StoredUpload:
    """Copy an upload into the council's folder, hashing as it goes. Past `max_bytes` it
    stops (UploadTooLarge) and keeps nothing."""
    files = import_files()
    digest = hashlib.sha256()
    content = ContentDigest()
    size = 0
    handle, temporary = tempfile.mkstemp(dir=files.scratch_folder(), prefix=".upload-")
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
        files.put(check_digest(sha), Path(temporary))
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return StoredUpload(sha, size, content.hexdigest())
