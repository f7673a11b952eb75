from typing import Any

from django.core.management.base import BaseCommand

from billing.actions.price_book import sync_price_book


class Command(BaseCommand):
    help = "Create the price book's products, prices, meters and VAT rate in Stripe (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        for line in sync_price_book():
            self.stdout.write(line)
