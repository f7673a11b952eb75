"""Delete closed councils' archives whose retention period has passed (audited).

Run daily by the platform's scheduler, e.g. `counterfoil manage purge_expired_archives`.
"""

from django.core.management.base import BaseCommand

from tenants.actions.lifecycle import purge_expired_archives


class Command(BaseCommand):
    help = "Delete closed councils' archives past their retention period."

    def handle(self, *args: object, **options: object) -> None:
        purged = purge_expired_archives(acting_user=None)
        for archive in purged:
            self.stdout.write(f"deleted {archive}")
        self.stdout.write(f"{len(purged)} archive(s) past their retention period deleted")
