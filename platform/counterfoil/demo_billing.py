"""The demo's billing, seeded idempotently against the Stripe stand-in the demo starts: the
price book, both councils as Stripe customers, a month of usage, one paid and one overdue
invoice, and the platform's cost for last month shared out in a statement.

The stand-in keeps its objects in memory, so each demo start meets an empty Stripe: councils
whose customer Stripe no longer knows are made customers again, and their usage sent again.
"""

import random
from datetime import date, timedelta

import httpx
from django.conf import settings
from django.utils import timezone

from billing.actions.cost_statement import record_monthly_cost
from billing.actions.customers import create_customer
from billing.actions.metering import send_usage
from billing.actions.price_book import sync_price_book
from billing.actions.webhooks import apply, receive
from billing.cost_models import PlatformCost
from billing.models import (
    BillingAccount,
    Invoice,
    Meter,
    OverdueReminder,
    PriceBookRow,
    PriceKind,
    UsageRecord,
)
from billing.stripe_gateway import retrieve_customer
from tenants.models import Council

# (slug, population, PO number, transactions a day, invoice paid?)
DEMO_BILLING = (
    ("northbrook", 180_000, "PO-NB-2026-114", (250, 450), True),
    ("eastmere", 95_000, "EM/PO/7781", (90, 200), False),
)
# What the platform cost last month, by category, in pence before VAT.
DEMO_COSTS = {
    "Compute (AmazonECS)": 184_250,
    "Database (AmazonRDS)": 91_730,
    "File storage (AmazonS3)": 4_310,
    "Support and operations": 60_000,
}
MB = 1024**2


def seed_billing(stripe_url: str) -> None:
    _seed_price_book()
    sync_price_book()
    today = timezone.localdate()
    last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    for slug, population, po_number, per_day, paid in DEMO_BILLING:
        council = Council.objects.filter(slug=slug).first()
        if council is None:
            continue
        account = _billed(council, population, po_number)
        _seed_usage(council, last_month, today, per_day)
        send_usage(council)
        if not Invoice.objects.filter(account=account).exists():
            _raise_invoice(stripe_url, account, last_month, paid=paid)
    if not PlatformCost.objects.filter(month=last_month).exists():
        for category, pence in DEMO_COSTS.items():
            record_monthly_cost(
                month=last_month, category=category, amount_pence=pence, acting_user=None
            )


def _seed_price_book() -> None:
    """The demo's prices, in force from the start of the financial year (seeded history: an
    operator adds prices only from today on)."""
    if PriceBookRow.objects.exists():
        return
    start = date(timezone.localdate().year - (timezone.localdate().month < 4), 4, 1)
    for kind, population_from, pence, allowance in (
        (PriceKind.BAND, 0, 50_000, 0),
        (PriceKind.BAND, 150_000, 90_000, 0),
        (PriceKind.TRANSACTION, 0, 2, 0),
        (PriceKind.STORAGE_GB, 0, 10, 5),
    ):
        PriceBookRow.objects.create(
            kind=kind,
            population_from=population_from,
            amount_pence=pence,
            allowance_gb=allowance,
            effective_from=start,
        )


def _billed(council: Council, population: int, po_number: str) -> BillingAccount:
    account, _ = BillingAccount.objects.get_or_create(
        council=council,
        defaults={
            "population": population,
            "contact_name": f"{council.name} finance",
            "contact_email": f"admin@{council.slug}.example",
            "address_line1": "Town Hall",
            "postal_code": "AB1 2CD",
            "po_number": po_number,
        },
    )
    if account.stripe_customer_id and retrieve_customer(account.stripe_customer_id) is None:
        # A new stand-in: Stripe has forgotten this council, so make it a customer again.
        BillingAccount.objects.filter(pk=account.pk).update(
            stripe_customer_id="", stripe_subscription_id="", subscription_status=""
        )
        UsageRecord.objects.filter(council=council).update(sent_at=None)
        # The demo's own invoices go with it, and the reminders sent about them (the demo
        # only: a real Stripe never forgets a customer).
        OverdueReminder.objects.filter(invoice__account=account).delete()
        Invoice.objects.filter(account=account).delete()
    return create_customer(council_id=council.pk)


def _seed_usage(council: Council, first: date, today: date, per_day: tuple[int, int]) -> None:
    """A month of usage and more: every day from the first of last month to yesterday."""
    picker = random.Random(council.slug)
    stored = 40 * MB
    day = first
    while day < today:
        stored += picker.randint(1, 6) * MB
        UsageRecord.objects.get_or_create(
            council=council,
            day=day,
            meter=Meter.TRANSACTIONS,
            defaults={"quantity": picker.randint(*per_day)},
        )
        UsageRecord.objects.get_or_create(
            council=council, day=day, meter=Meter.STORED_BYTES, defaults={"quantity": stored}
        )
        day += timedelta(days=1)


def _raise_invoice(stripe_url: str, account: BillingAccount, month: date, *, paid: bool) -> None:
    """Last month's invoice, raised at the stand-in on its first day; Stripe's events about it
    (finalized, then paid or overdue) arrive signed and are applied as the webhook would."""
    days_ago = max(31, (timezone.localdate() - month).days)
    transactions = sum(
        UsageRecord.objects.filter(
            council=account.council, meter=Meter.TRANSACTIONS, day__lt=month + timedelta(days=31)
        ).values_list("quantity", flat=True)[:30]
    )
    band = 90_000 if account.population >= 150_000 else 50_000
    net = band + 2 * transactions
    answer = httpx.post(
        f"{stripe_url}/_standin/invoices",
        json={
            "customer": account.stripe_customer_id,
            "amount_due": net + net // 5,
            "days_ago": days_ago,
            "paid": paid,
            "webhook_secret": settings.STRIPE_WEBHOOK_SECRETS[0],
        },
        timeout=10,
    )
    answer.raise_for_status()
    for delivery in answer.json()["deliveries"]:
        stored, created = receive(delivery["payload"].encode(), delivery["signature"])
        if created:
            apply(stored.event_id)
