"""Where each council's files live: uploaded imports, written exports and the archive made when
it leaves. A folder under the data folder by default; an S3 bucket through django-storages when
`STORAGE_BUCKET` is set (production), with the same keys in both.

Every file belongs to one council and one area, and its key is built here from the council's
schema and a plain file name, never from anything a request carries:

    councils/<schema>/imports/<sha256>
    councils/<schema>/exports/<sha256>
    archives/<schema>/<schema>-<stamp>.zip     (the bucket's lifecycle rule expires these)

A name with a slash, a dot-dot or any character outside [A-Za-z0-9._-] is refused, so one
council's `CouncilFiles` can never reach another council's objects.
"""

import functools
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage
from django.db import connection

from tenants.schema_names import validate_schema_name

PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")


class FileArea(StrEnum):
    IMPORTS = "imports"
    EXPORTS = "exports"
    ARCHIVES = "archives"


def area_prefix(area: FileArea, schema_name: str) -> str:
    """The key prefix of a council's area, the same in the bucket and under the data folder."""
    validate_schema_name(schema_name)
    if area is FileArea.ARCHIVES:
        return f"archives/{schema_name}"
    return f"councils/{schema_name}/{area.value}"


def check_name(name: str) -> str:
    if not PLAIN_NAME.fullmatch(name) or ".." in name:
        raise ValueError(f"not a plain file name: {name!r}")
    return name


@dataclass(frozen=True)
class CouncilFiles:
    """One council's files of one area."""

    area: FileArea
    schema_name: str
    storage: Storage

    @property
    def in_bucket(self) -> bool:
        return not isinstance(self.storage, FileSystemStorage)

    def key(self, name: str) -> str:
        """The file's key under the storage root: what records and audit entries name."""
        return f"{area_prefix(self.area, self.schema_name)}/{check_name(name)}"

    def scratch_folder(self) -> Path:
        """A folder to write a file in before `put`: the area's own folder when local, so that
        `put` is a rename; the data folder's scratch space when the files go to a bucket."""
        if self.in_bucket:
            folder = Path(settings.DATA_DIR) / "scratch"
        else:
            folder = Path(self.storage.location)
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def put(self, name: str, source: Path) -> None:
        """Keep the whole file at `source` under `name` (replacing what was there: names are
        content digests or stamped, so the same name means the same bytes). `source` is moved,
        or uploaded and removed."""
        check_name(name)
        if self.in_bucket:
            try:
                with source.open("rb") as stream:
                    self.storage.save(name, stream)  # file_overwrite: the same name again
            finally:
                source.unlink(missing_ok=True)
        else:
            os.replace(source, self.storage.path(name))

    def exists(self, name: str) -> bool:
        return self.storage.exists(check_name(name))

    def open(self, name: str) -> IO[bytes]:
        """The file for reading; FileNotFoundError if it is not kept."""
        check_name(name)
        if not self.storage.exists(name):
            raise FileNotFoundError(self.key(name))
        return self.storage.open(name, "rb")

    def size(self, name: str) -> int:
        return self.storage.size(check_name(name))

    def delete(self, name: str) -> None:
        self.storage.delete(check_name(name))

    @contextmanager
    def local_path(self, name: str) -> Iterator[Path]:
        """A path on this machine holding the file, for readers that need one (the import
        pipeline's reader): the file itself when local, a scratch copy while in a bucket."""
        check_name(name)
        if not self.in_bucket:
            path = Path(self.storage.path(name))
            if not path.is_file():
                raise FileNotFoundError(self.key(name))
            yield path
            return
        handle, temporary = tempfile.mkstemp(dir=self.scratch_folder(), prefix=".copy-")
        try:
            with os.fdopen(handle, "wb") as out, self.open(name) as stream:
                shutil.copyfileobj(stream, out, 1 << 20)
            yield Path(temporary)
        finally:
            Path(temporary).unlink(missing_ok=True)


def council_files(area: FileArea, schema_name: str | None = None) -> CouncilFiles:
    """The files of `area` of the council `schema_name` (by default the connection's)."""
    schema = schema_name or connection.schema_name
    prefix = area_prefix(area, schema)
    bucket = settings.STORAGE_BUCKET
    if bucket:
        storage = _bucket_storage(
            bucket, prefix, settings.STORAGE_ENDPOINT_URL, settings.STORAGE_REGION
        )
    else:
        root = settings.DATA_DIR if area is FileArea.ARCHIVES else settings.MEDIA_ROOT
        folder = Path(root) / prefix
        folder.mkdir(parents=True, exist_ok=True)
        storage = FileSystemStorage(location=folder)
    return CouncilFiles(area, schema, storage)


@functools.lru_cache(maxsize=2048)
def _bucket_storage(bucket: str, prefix: str, endpoint_url: str, region: str) -> Storage:
    # Imported here: boto3 is loaded only by processes that use a bucket.
    from storages.backends.s3 import S3Storage

    return S3Storage(
        bucket_name=bucket,
        location=prefix,
        endpoint_url=endpoint_url or None,
        region_name=region,
        # The bucket's own policy: private, KMS-encrypted by default (terraform/modules/storage).
        default_acl=None,
        file_overwrite=True,
        querystring_auth=True,
    )
