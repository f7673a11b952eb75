"""Reading an export run's file in tests, wherever the file store keeps it."""

from income.exports.export_file import export_bytes
from income.models import ExportRun


def export_text(run: ExportRun) -> str:
    return export_bytes(run.sha256).decode()
