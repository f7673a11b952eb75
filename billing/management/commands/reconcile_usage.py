from datetime import date, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from billing.actions.metering import reconcile


class Command(BaseCommand):
    help = "List every difference between our usage ledger and Stripe's meter event summaries."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--start", type=date.fromisoformat)
        parser.add_argument("--end", type=date.fromisoformat)

    def handle(self, *args: Any, **options: Any) -> None:
        end = options["end"] or timezone.localdate() - timedelta(days=1)
        start = options["start"] or end - timedelta(days=30)
        differences = reconcile(start, end)
        for line in differences:
            self.stdout.write(line)
        self.stdout.write(f"{len(differences)} difference(s) from {start} to {end}")
