"""Delete closed councils' export archives whose retention period has passed (audited).

Run daily by the platform's scheduler, e.g. `counterfoil manage purge_expired_exports`.
"""

from django.core.management.base import BaseCommand

from tenants.actions.lifecycle import purge_expired_exports


class Command(BaseCommand):
    help = "Delete closed councils' export archives past their retention period."

    def handle(self, *args: object, **options: object) -> None:
        purged = purge_expired_exports(acting_user=None)
        for archive in purged:
            self.stdout.write(f"deleted {archive}")
        self.stdout.write(f"{len(purged)} archive(s) past their retention period deleted")
