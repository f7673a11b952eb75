"""The one-shot step of a release, run once before the new web and worker processes start:
the public schema's migrations, then every council schema behind the release, then the spare
council schemas of this release (tenants.spare_schemas) in place of the last release's.

counterfoil release [--jobs 4]

Exits non-zero naming each council whose migration failed. The other councils are migrated
and keep working, and running it again migrates only what is still behind.
"""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from tenants.spare_schemas import replenish


class Command(BaseCommand):
    help = (
        "Migrate the public schema, then every council schema behind this release; then build"
        " this release's spare council schemas."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--jobs", type=int, default=4, help="council schemas migrated at once")

    def handle(self, *args: object, jobs: int, **options: object) -> None:
        self.stdout.write("Migrating the public schema")
        try:
            call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
        except Exception as error:
            raise CommandError(f"The public schema's migration failed: {error}") from error
        call_command("migrate_councils", jobs=jobs, stdout=self.stdout)
        # Spares of the last release are never taken: replace them now, so that the first
        # council of this release does not wait for its schema to be built.
        try:
            spares = replenish(settings.SPARE_COUNCIL_SCHEMAS)
        except DatabaseError as error:
            # Not a failed release: each new council then builds its own schema, and the
            # worker tries again after each.
            self.stdout.write(f"Spare council schemas not built: {error}")
        else:
            self.stdout.write(
                f"Spare council schemas: {len(spares.built)} built, {len(spares.dropped)} of"
                " an earlier release dropped"
            )
        self.stdout.write("Release migrations done")
