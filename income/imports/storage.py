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


def store_upload(chunks: IO[bytes] | object) -> StoredUpload:
    """Copy an upload into the council's folder, hashing as it goes."""
    folder = council_folder()
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    content = ContentDigest()
    size = 0
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".upload-")
    try:
        with os.fdopen(handle, "wb") as out:
            for chunk in chunks.chunks(CHUNK):  # type: ignore[attr-defined]
                digest.update(chunk)
                content.update(chunk)
                size += len(chunk)
                out.write(chunk)
        sha = digest.hexdigest()
        os.replace(temporary, stored_path(sha))
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return StoredUpload(sha, size, content.hexdigest())
