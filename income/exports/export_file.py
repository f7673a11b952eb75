"""An export's file, written under a temporary name, hashed as it is written, and kept in the
council's exports area (tenants.file_store) under its SHA-256 once whole (so a download is
always the same bytes, and a run that fails leaves nothing that looks finished)."""

import hashlib
import os
import tempfile
from pathlib import Path
from typing import IO

from tenants.file_store import CouncilFiles, FileArea, council_files


def export_files(schema_name: str | None = None) -> CouncilFiles:
    return council_files(FileArea.EXPORTS, schema_name)


def open_export(sha256: str) -> IO[bytes]:
    """A kept export file for reading; FileNotFoundError once it is no longer kept."""
    return export_files().open(sha256)


def export_bytes(sha256: str) -> bytes:
    with open_export(sha256) as stream:
        return stream.read()


class ExportFile:
    def __init__(self, run_id: int) -> None:
        self._files = export_files()
        handle, partial = tempfile.mkstemp(
            dir=self._files.scratch_folder(), prefix=f".run-{run_id}-"
        )
        self._partial = Path(partial)
        self._out = os.fdopen(handle, "wb")
        self._digest = hashlib.sha256()
        self.size = 0
        self.line_breaks = 0

    def write(self, data: bytes) -> None:
        self._digest.update(data)
        self._out.write(data)
        self.size += len(data)
        self.line_breaks += data.count(b"\n")

    def write_text(self, text: str) -> None:
        self.write(text.encode("utf-8"))

    def keep(self) -> str:
        """Close the file and keep it under its SHA-256, which it returns."""
        self._out.close()
        sha256 = self._digest.hexdigest()
        self._files.put(sha256, self._partial)
        return sha256

    def discard(self) -> None:
        self._out.close()
        self._partial.unlink(missing_ok=True)
