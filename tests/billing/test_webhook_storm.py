"""Issue 16's "done when": the Stripe stand-in sends 1,000 events twice, shuffled, over real
HTTP to the app under gunicorn; a real Celery worker applies them; each invoice ends in
exactly one state, its newest."""

import secrets
from collections import Counter

import pytest
from django.conf import settings
from django.db import connection

from billing.models import BillingAccount, Invoice, StripeEvent
from tenants.actions.councils import create_council
from tests.bench.http_load import gunicorn, http_request
from tests.billing.conftest import WEBHOOK_SECRET
from tests.fixtures.worker import start_worker, stop_process, worker_environment
from tests.standins.stripe_server import StandinStripe
from tests.waiting import wait_for

INVOICES = 500  # two events each: finalised, then paid or voided
CUSTOMER = "cus_storm"


@pytest.mark.worker
def test_a_storm_of_1000_events_sent_twice_and_shuffled_leaves_one_state_per_invoice(
    django_db_setup, django_db_blocker, tmp_path
):
    with StandinStripe() as standin, django_db_blocker.unblock():
        # A council of its own: what the server and the worker see must be committed.
        council = create_council(
            name="Storm Council", slug=f"storm-{secrets.token_hex(3)}", acting_user=None
        )
        connection.set_schema_to_public()
        account = BillingAccount.objects.create(council=council, stripe_customer_id=CUSTOMER)
        events, expected = [], {}
        for n in range(INVOICES):
            invoice = standin.add_invoice(CUSTOMER, amount_due=100 + n)
            events.append(standin.event("invoice.finalized", invoice))
            final = "paid" if n % 2 else "void"
            later = standin.set_invoice_status(invoice["id"], final)
            kind = "invoice.paid" if final == "paid" else "invoice.voided"
            events.append(standin.event(kind, later, created=events[-1]["created"] + 1))
            expected[invoice["id"]] = final
        event_ids = [event["id"] for event in events]
        env = worker_environment(
            COUNTERFOIL_BROKER_DIR=str(tmp_path / "broker"),
            STRIPE_SECRET_KEY="sk_test_counterfoil",
            STRIPE_API_BASE=standin.url,
            STRIPE_WEBHOOK_SECRETS=WEBHOOK_SECRET,
        )
        worker = start_worker(env, tmp_path / "worker.log")
        try:
            with gunicorn(
                "counterfoil.wsgi:application",
                env=env,
                log_path=tmp_path / "gunicorn.log",
                probe=http_request(settings.PLATFORM_DOMAIN, "/health/live"),
            ) as port:
                statuses = standin.deliver(
                    f"http://127.0.0.1:{port}/billing/stripe/webhook/",
                    events,
                    WEBHOOK_SECRET,
                    headers={"Host": settings.PLATFORM_DOMAIN},
                    twice=True,
                    shuffle=True,
                )
            applied = StripeEvent.objects.filter(event_id__in=event_ids, applied_at__isnull=False)
            wait_for(lambda: applied.count() == len(events), timeout=180, interval=0.5)
            assert Counter(statuses) == {200: 2 * len(events)}
            # Kept once each, and every invoice in its last state, whatever the order.
            assert StripeEvent.objects.filter(event_id__in=event_ids).count() == len(events)
            states = dict(
                Invoice.objects.filter(account=account).values_list("stripe_id", "status")
            )
            assert states == expected
        except BaseException:
            print(worker.log()[-5000:])
            raise
        finally:
            stop_process(worker.process)
            Invoice.objects.filter(account=account).delete()
            StripeEvent.objects.filter(event_id__in=event_ids).delete()
            account.delete()
            council.delete(force_drop=True)
