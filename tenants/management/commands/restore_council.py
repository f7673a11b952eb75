"""Restore one council's backup: counterfoil manage restore_council <folder> [--replace]"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tenants.backups import BackupRefused, restore_council


class Command(BaseCommand):
    help = "Restore a council from a backup folder, checking every checksum and row count."

    def add_arguments(self, parser) -> None:
        parser.add_argument("folder", type=Path)
        parser.add_argument(
            "--replace", action="store_true", help="drop the council's schema if it exists"
        )

    def handle(self, *args: object, folder: Path, replace: bool, **options: object) -> None:
        try:
            council = restore_council(folder, replace=replace)
        except BackupRefused as refusal:
            raise CommandError(str(refusal)) from refusal
        self.stdout.write(
            f"{council.name} restored into {council.schema_name}; every table checked"
        )
