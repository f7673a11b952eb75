"""The mop-up: with webhooks off and nobody coming back from GOV.UK Pay, the ledger still ends
up matching GOV.UK Pay; settlement dates are kept; it runs per council on a real worker."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from income.actions.govuk_pay.mop_up import mop_up, run_mop_up
from income.actions.govuk_pay.payments import BasketItem, start_payment
from income.defaults import seed_income_defaults
from income.models import GovukPayConnection, GovukPayPayment, PaymentOrigin, Receipt
from income.tasks import govuk_pay_mop_up
from tenants.actions.councils import create_council
from tests.income.govuk_pay.conftest import connect, public_funds
from tests.waiting import wait_for


def unreturned_payment(council, fund, standin, amount=5_000, card="4444333322221111"):
    """Paid at GOV.UK Pay, but no webhook and no return visit reached us."""
    payment = start_payment(
        council=council,
        items=[BasketItem(fund, "CT42", amount)],
        origin=PaymentOrigin.PORTAL,
        return_url=lambda token: f"https://pay.example/pay/return/{token}/",
        acting_user=None,
    )
    standin.complete(payment.payment_id, card_number=card)
    return payment


def test_the_mop_up_records_what_webhooks_missed_once(paying_council, standin):
    council, fund = paying_council["council"], paying_council["council_tax"]
    paid = unreturned_payment(council, fund, standin)
    declined = unreturned_payment(council, fund, standin, card="4000000000000002")
    abandoned = start_payment(
        council=council, items=[BasketItem(fund, "CT43", 700)], origin=PaymentOrigin.PORTAL,
        return_url=lambda token: f"https://pay.example/r/{token}/", acting_user=None,
    )  # fmt: skip
    assert not Receipt.objects.exists()

    summary = mop_up(connection=paying_council["connection"])
    assert summary.problems == []
    assert summary.applied == 2
    paid.refresh_from_db()
    declined.refresh_from_db()
    abandoned.refresh_from_db()
    assert paid.status == "success" and paid.receipt.amount_pence == 5_000
    assert declined.status == "failed" and declined.receipt is None
    assert abandoned.status == "created"
    # Again: nothing new.
    assert mop_up(connection=paying_council["connection"]).applied == 0
    assert Receipt.objects.count() == 1
    assert GovukPayConnection.objects.get().last_mop_up_at is not None


def test_the_mop_up_reads_only_the_payments_gov_uk_pay_returned(paying_council, standin):
    council, fund = paying_council["council"], paying_council["council_tax"]
    paid = [unreturned_payment(council, fund, standin, amount=100 + n) for n in range(3)]
    mop_up(connection=paying_council["connection"])
    # Payments of long ago that GOV.UK Pay's search no longer returns.
    GovukPayPayment.objects.filter(pk__in=[p.pk for p in paid[:2]]).update(
        created_at=timezone.now() - timezone.timedelta(days=400)
    )

    with CaptureQueriesContext(connection) as queries:
        summary = mop_up(connection=paying_council["connection"])

    assert (summary.seen, summary.applied) == (3, 0)
    reads = [q["sql"] for q in queries if 'FROM "income_govukpaypayment"' in q["sql"]]
    # One lookup for the page of search results, by payment id; nothing re-applied (locked).
    assert any('"payment_id" IN' in sql for sql in reads)
    assert not any("FOR UPDATE" in sql for sql in reads)
    assert all("WHERE" in sql for sql in reads)


def test_settlement_dates_are_recorded(paying_council, standin):
    paid = unreturned_payment(paying_council["council"], paying_council["council_tax"], standin)
    mop_up(connection=paying_council["connection"])
    paid.refresh_from_db()
    assert paid.captured_on == timezone.now().date()
    assert paid.capture_submitted_at is not None and paid.settled_on is None
    standin.settle(paid.payment_id, "2026-11-27")
    mop_up(connection=paying_council["connection"])
    paid.refresh_from_db()
    assert str(paid.settled_on) == "2026-11-27"


def test_gov_uk_pay_down_during_the_mop_up_changes_nothing_until_it_is_back(
    paying_council, standin
):
    unreturned_payment(paying_council["council"], paying_council["council_tax"], standin)
    standin.fail_next(2, 500)
    summary = mop_up(connection=paying_council["connection"])
    assert summary.problems and "500" in summary.problems[0]
    assert not Receipt.objects.exists()
    assert mop_up(connection=paying_council["connection"]).applied == 1
    assert Receipt.objects.count() == 1


def test_an_admin_can_run_it_from_the_settings_page(paying_council, admin, standin):
    from tests.conftest import host_client
    from tests.factories import PASSWORD

    unreturned_payment(paying_council["council"], paying_council["council_tax"], standin)
    client = host_client(paying_council["council"])
    client.login(email=admin.email, password=PASSWORD)
    page = client.post("/govuk-pay/settings/check/", follow=True).content.decode()
    assert "1 brought up to date" in page
    assert Receipt.objects.count() == 1


def test_run_mop_up_covers_every_service_of_the_council(paying_council, standin):
    unreturned_payment(paying_council["council"], paying_council["council_tax"], standin)
    summary = run_mop_up(council=paying_council["council"], acting_user=None)
    assert (summary.applied, summary.problems) == (1, [])


@pytest.fixture
def committed_unreturned(django_db_setup, django_db_blocker, standin):
    with django_db_blocker.unblock():
        council = create_council(name="Mop Up Council", slug="mop-up", acting_user=None)
        try:
            with schema_context(council.schema_name):
                seed_income_defaults()
                connect(council, standin)
                council_tax, _parking = public_funds()
                payment = unreturned_payment(council, council_tax, standin, amount=6_100)
            yield council, payment
        finally:
            connection.set_schema_to_public()
            council.delete(force_drop=True)


@pytest.mark.worker
def test_the_periodic_task_runs_in_each_councils_schema_on_the_worker(
    committed_unreturned, celery_worker_process
):
    council, payment = committed_unreturned
    with schema_context(council.schema_name):
        govuk_pay_mop_up.delay()

    def recorded() -> bool:
        with schema_context(council.schema_name):
            return GovukPayPayment.objects.filter(pk=payment.pk, receipt__isnull=False).exists()

    wait_for(recorded, timeout=60)
    with schema_context(council.schema_name):
        assert Receipt.objects.get().amount_pence == 6_100


def test_the_beat_schedule_sends_the_mop_up_to_every_council(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["govuk-pay-mop-up"]
    assert entry["task"] == "income.govuk_pay_mop_up" and "tenant_schemas" not in entry
    from celery.utils.imports import symbol_by_name
    from tenant_schemas_celery.scheduler import TenantAwarePersistentScheduler

    # Fanned out per council (those whose hosts answer: counterfoil.celery_beat).
    scheduler = symbol_by_name(settings.CELERY_BEAT_SCHEDULER)
    assert issubclass(scheduler, TenantAwarePersistentScheduler)


def test_a_payment_whose_creation_answer_was_lost_is_adopted_by_its_reference(
    paying_council, standin
):
    """GOV.UK Pay made the payment but our create call never heard back (a timeout after the
    request landed): the mop-up finds it by our reference, and records it once."""
    from income.actions.govuk_pay.payments import PaymentServiceUnavailable
    from income.govuk_pay.client import GovukPayClient

    council, fund = paying_council["council"], paying_council["council_tax"]
    standin.fail_next(2, 500)
    with pytest.raises(PaymentServiceUnavailable):
        start_payment(
            council=council, items=[BasketItem(fund, "CT7", 1_234)], origin=PaymentOrigin.PORTAL,
            return_url=lambda token: f"https://pay.example/r/{token}/", acting_user=None,
        )  # fmt: skip
    ours = GovukPayPayment.objects.get()
    assert ours.status == "not_created" and ours.payment_id is None
    with GovukPayClient(paying_council["api_key"], base_url=standin.url) as client:
        theirs = client.create_payment(
            amount=1_234, reference=ours.reference, description="x",
            return_url="https://pay.example/r/x/",
        )  # fmt: skip
    standin.complete(theirs["payment_id"])

    assert mop_up(connection=paying_council["connection"]).applied == 1
    ours.refresh_from_db()
    assert ours.payment_id == theirs["payment_id"] and ours.status == "success"
    assert Receipt.objects.get().amount_pence == 1_234
