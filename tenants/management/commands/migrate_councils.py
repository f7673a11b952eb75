"""Migrate the councils whose schemas are behind this release, several at once; skip the rest.

counterfoil manage migrate_councils [--jobs 4] [--dry-run]
"""

from django.core.management.base import BaseCommand, CommandError

from tenants.upgrades import council_migration_states, migrate_outdated


class Command(BaseCommand):
    help = "Migrate only the council schemas that are behind this release, in parallel."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--jobs", type=int, default=4, help="schemas migrated at once")
        parser.add_argument("--dry-run", action="store_true", help="only say which are behind")

    def handle(self, *args: object, jobs: int, dry_run: bool, **options: object) -> None:
        states = council_migration_states()
        outdated = [state.schema_name for state in states if not state.current]
        self.stdout.write(
            f"{len(outdated)} of {len(states)} council schemas are behind this release"
        )
        for name in outdated:
            self.stdout.write(f"  {name}")
        if dry_run or not outdated:
            return
        failed = [name for name, status in migrate_outdated(outdated, jobs=jobs).items() if status]
        if failed:
            raise CommandError(f"migrating failed for: {', '.join(failed)}")
        self.stdout.write(f"{len(outdated)} migrated")
