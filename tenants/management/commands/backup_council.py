"""Back up one council: counterfoil manage backup_council <slug> <folder>"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tenants.backups import backup_council
from tenants.models import Council


class Command(BaseCommand):
    help = "Write a council's schema, its public rows and a checksummed manifest to a folder."

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug")
        parser.add_argument("folder", type=Path)

    def handle(self, *args: object, slug: str, folder: Path, **options: object) -> None:
        council = Council.objects.filter(slug=slug).first()
        if council is None:
            raise CommandError(f"No council has the subdomain {slug!r}.")
        if folder.exists() and any(folder.iterdir()):
            raise CommandError(f"{folder} is not empty: back up into a new folder.")
        backup = backup_council(council, folder)
        tables = backup.manifest["tables"]
        rows = sum(table["rows"] for table in tables.values())
        self.stdout.write(f"{council.name}: {len(tables)} tables, {rows} rows, in {folder}")
