"""Queue each active council's daily exports (one task per council, run in its schema).
Schedule it daily, e.g. from cron: `counterfoil manage run_daily_exports`."""

from django.core.management.base import BaseCommand
from django.db import transaction
from django_tenants.utils import schema_context

from income.tasks import run_daily_exports_task
from tenants.models import Council, CouncilStatus


class Command(BaseCommand):
    help = "Queue every active council's daily exports."

    def handle(self, *args: object, **options: object) -> None:
        queued = 0
        for council in Council.objects.filter(status=CouncilStatus.ACTIVE):
            with schema_context(council.schema_name), transaction.atomic():
                run_daily_exports_task.delay_on_commit()
            queued += 1
        self.stdout.write(f"Queued the daily exports of {queued} council(s).")
