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
        # A council whose migrations could not even be counted (its node did not answer) is
        # not tried: it fails with that reason, and the next run picks it up.
        failures = {state.schema_name: state.unreadable for state in states if state.unreadable}
        outdated = [s.schema_name for s in states if not s.current and not s.unreadable]
        self.stdout.write(
            f"{len(outdated)} of {len(states)} council schemas are behind this release"
        )
        for name in outdated:
            self.stdout.write(f"  {name}")
        if not dry_run and outdated:
            results = migrate_outdated(outdated, jobs=jobs)
            failures.update((name, why) for name, why in results.items() if why)
            self.stdout.write(f"{len(outdated) - len(failures.keys() & results.keys())} migrated")
        if failures:
            for name, why in sorted(failures.items()):
                self.stderr.write(f"  {name}: not migrated: {why}")
            raise CommandError(f"migrating failed for: {', '.join(sorted(failures))}")
