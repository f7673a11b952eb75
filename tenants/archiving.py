"""A council's complete data as one archive: every table of its schema as CSV (read with
PostgreSQL's COPY, so it streams), and a manifest naming each file with its row count and
SHA-256, so the archive can be checked long after the schema is gone."""

import hashlib
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

from django.db import connection
from django.utils import timezone

from tenants.file_store import FileArea, council_files
from tenants.models import Council
from tenants.schema_names import validate_schema_name

MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True)
class ArchiveFile:
    key: str  # in the file store: archives/<schema>/<name>
    sha256: str
    size: int
    table_count: int
    row_count: int


def schema_tables(schema_name: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relkind IN ('r', 'p') ORDER BY c.relname",
            [schema_name],
        )
        return [row[0] for row in cursor.fetchall()]


def archive_schema(council: Council, *, stamp: str | None = None) -> ArchiveFile:
    """Write the archive of `council`'s schema and return where it is and what it holds.

    A closing council's hosts answer nobody, so nothing changes its tables while they are read.
    Writing goes to a temporary file first and is kept in the council's archives area (the
    bucket, or the data folder) only when whole: a half-written archive never looks finished.
    """
    schema_name = council.schema_name
    validate_schema_name(schema_name)
    stamp = stamp or timezone.now().strftime("%Y%m%dT%H%M%SZ")
    files = council_files(FileArea.ARCHIVES, schema_name)
    name = f"{schema_name}-{stamp}.zip"
    partial = files.scratch_folder() / f".{name}.partial"
    manifest: dict[str, object] = {
        "council": council.name,
        "slug": council.slug,
        "gss_code": council.gss_code,
        "schema": schema_name,
        "exported_at": timezone.now().isoformat(),
        "format": "CSV with a header row, UTF-8, as PostgreSQL's COPY writes it",
        "tables": {},
    }
    tables: dict[str, dict[str, object]] = manifest["tables"]  # type: ignore[assignment]
    total_rows = 0
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with connection.cursor() as cursor:
            for table in schema_tables(schema_name):
                qualified = (
                    f"{connection.ops.quote_name(schema_name)}.{connection.ops.quote_name(table)}"
                )
                digest = hashlib.sha256()
                with (
                    archive.open(f"{table}.csv", "w") as member,
                    cursor.copy(
                        f"COPY (SELECT * FROM {qualified}) TO STDOUT WITH (FORMAT csv, HEADER)"  # noqa: S608
                    ) as copy,
                ):
                    for chunk in copy:
                        data = bytes(chunk)
                        digest.update(data)
                        member.write(data)
                cursor.execute(f"SELECT count(*) FROM {qualified}")  # noqa: S608
                (row_count,) = cursor.fetchone()
                tables[table] = {
                    "file": f"{table}.csv",
                    "rows": row_count,
                    "sha256": digest.hexdigest(),
                }
                total_rows += row_count
        archive.writestr(MANIFEST_NAME, json.dumps(manifest, indent=2, sort_keys=True))
    sha256, size = file_sha256(partial), partial.stat().st_size
    files.put(name, partial)
    return ArchiveFile(
        key=files.key(name),
        sha256=sha256,
        size=size,
        table_count=len(tables),
        row_count=total_rows,
    )


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read a megabyte at a time."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
