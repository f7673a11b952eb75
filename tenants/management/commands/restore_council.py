"""Restore one council's backup:
counterfoil manage restore_council <folder> [--replace]
counterfoil manage restore_council <folder> --as <new-slug> [--name "..."]"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tenants.backups import BackupRefused, restore_council
from tenants.restore_as import restore_council_as


class Command(BaseCommand):
    help = (
        "Restore a council from a backup folder, checking every checksum and row count: in its "
        "own schema, or beside it as a new council with --as."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("folder", type=Path)
        parser.add_argument(
            "--replace", action="store_true", help="drop the council's schema if it exists"
        )
        parser.add_argument(
            "--as", dest="as_slug", metavar="SLUG",
            help="restore as a new council with this subdomain, beside the original",
        )  # fmt: skip
        parser.add_argument("--name", help="the new council's name (with --as)")

    def handle(
        self,
        *args: object,
        folder: Path,
        replace: bool,
        as_slug: str | None,
        name: str | None,
        **options: object,
    ) -> None:
        if name and not as_slug:
            raise CommandError("--name goes with --as: a council restored in place keeps its own.")
        try:
            if as_slug:
                council = restore_council_as(folder, slug=as_slug, name=name, acting_user=None)
            else:
                council = restore_council(folder, replace=replace)
        except BackupRefused as refusal:
            raise CommandError(str(refusal)) from refusal
        self.stdout.write(
            f"{council.name} restored into {council.schema_name}; every table checked"
        )
