"""An export's file, written into the council's own storage area under a temporary name,
hashed as it is written, and kept under its SHA-256 once whole (so a download is always the
same bytes, and a run that fails leaves nothing that looks finished)."""

import hashlib
from pathlib import Path

from income.imports.storage import council_folder


def exports_folder() -> Path:
    return council_folder().parent / "exports"


class ExportFile:
    def __init__(self, run_id: int) -> None:
        folder = exports_folder()
        folder.mkdir(parents=True, exist_ok=True)
        self._folder = folder
        self._partial = folder / f".run-{run_id}"
        self._out = self._partial.open("wb")
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
        self._partial.replace(self._folder / sha256)
        return sha256

    def discard(self) -> None:
        self._out.close()
        self._partial.unlink(missing_ok=True)
