"""An operator moves a council to another worker (citus_schema_move, logical replication)
while a writer keeps taking payments into it: nothing is lost or doubled, and the move is
audited. Moves that make no sense are refused, saying why."""

import datetime
import io
import os
import re
import threading
import time

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.db.models import Sum
from django_tenants.utils import schema_context

from income.actions.govuk_pay.payments import BasketItem, start_payment
from income.actions.govuk_pay.webhooks import apply_webhook_message
from income.actions.receipts import Allocation, record_receipt
from income.govuk_pay.signature import sign
from income.models import (
    Channel,
    Fund,
    GovukPayPayment,
    GovukPayWebhookMessage,
    PaymentOrigin,
    Posting,
    Receipt,
    VatCode,
    WebhookOutcome,
)
from tenants.actions.council_moves import move_council
from tenants.actions.councils import create_council
from tenants.audit.models import AuditEvent
from tenants.models import PlatformRole
from tenants.placement import PlacementRefused, WorkerNode, council_placements, worker_nodes
from tests.citus.durable_commits import commits_as, durable_commits  # noqa: F401
from tests.conftest import host_client, sign_in
from tests.factories import FundFactory, UserFactory
from tests.income.govuk_pay.conftest import allowed_standin, connect
from tests.standins.govuk_pay_server import StandinGovukPay

PAYMENT_PENCE = 1_250
CARD_PENCE = 3_400


pytestmark = pytest.mark.usefixtures("durable_commits")


@pytest.fixture
def committed_council(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        council = create_council(name="Moving Council", slug="moving", acting_user=None)
        with schema_context(council.schema_name):
            FundFactory(code="CTAX")
        yield council
        connection.set_schema_to_public()
        council.delete(force_drop=True)


def _other_worker(schema_name: str) -> WorkerNode:
    here = council_placements()[schema_name].node
    return next(node for node in worker_nodes() if node != here)


def _keep_paying_by_card(
    council, pay_standin, stop: threading.Event, made: list[str], errors: list
) -> None:
    """Take GOV.UK Pay payments until told to stop: each paid on the stand-in, its signed
    webhook posted to the council's endpoint and applied; `made` holds each payment's id."""
    try:
        with schema_context(council.schema_name):
            api_key, secret = connect(council, pay_standin)
            vat, card = VatCode.objects.get(code="N0"), Channel.objects.get(code="CARD")
            fund = FundFactory(code="WEBP", is_public=True, ledger_code="L3003", vat_code=vat)
            fund.channels.add(card)
            while not stop.is_set():
                payment = start_payment(
                    council=council,
                    items=[BasketItem(fund, f"WP{len(made)}", CARD_PENCE)],
                    origin=PaymentOrigin.PORTAL,
                    return_url=lambda token: f"https://pay.example/pay/return/{token}/",
                    acting_user=None,
                )
                pay_standin.complete(payment.payment_id)
                body = pay_standin.webhook_body(
                    api_key, payment.payment_id, "card_payment_succeeded"
                )
                answer = host_client(council).post(
                    "/govuk-pay/webhook/",
                    data=body,
                    content_type="application/json",
                    HTTP_PAY_SIGNATURE=sign(body, secret),
                )
                assert answer.status_code == 200, answer.status_code
                connection.set_schema(council.schema_name)
                pending = GovukPayWebhookMessage.objects.filter(outcome=WebhookOutcome.PENDING)
                for pk in pending.values_list("pk", flat=True):
                    apply_webhook_message(message_pk=pk)
                made.append(payment.payment_id)
    except BaseException as error:  # raised again in the test's thread
        errors.append(error)
    finally:
        connections.close_all()


def _keep_paying(schema_name: str, stop: threading.Event, made: list[str], errors: list) -> None:
    """Take counter payments until told to stop; `made` holds the key of each one recorded."""
    try:
        with schema_context(schema_name):
            cash, fund = Channel.objects.get(code="CASH"), Fund.objects.get(code="CTAX")
            while not stop.is_set():
                key = f"move:{len(made)}"
                record_receipt(
                    channel=cash,
                    amount_pence=PAYMENT_PENCE,
                    received_on=datetime.date(2026, 12, 1),
                    allocations=[Allocation(fund, PAYMENT_PENCE)],
                    idempotency_key=key,
                    acting_user=None,
                )
                made.append(key)
    except BaseException as error:  # raised again in the test's thread
        errors.append(error)
    finally:
        connections.close_all()


@pytest.fixture
def standin():
    """A GOV.UK Pay stand-in of this test's own: importing the income tests' session fixture
    defines it twice when those tests run too, and both would bind the session's one port."""
    with (
        StandinGovukPay(webhook_retry_delays=(0.05, 0.1, 0.2)) as server,
        allowed_standin(server.url),
    ):
        yield server


def test_a_council_moved_under_writers_loses_and_doubles_nothing(
    committed_council, standin, django_db_blocker
):
    schema = committed_council.schema_name
    stop, paid, paid_by_card, errors = threading.Event(), [], [], []
    with django_db_blocker.unblock():
        before = council_placements()[schema].node
        target = _other_worker(schema)
        writers = [
            threading.Thread(target=_keep_paying, args=(schema, stop, paid, errors)),
            threading.Thread(
                target=_keep_paying_by_card,
                args=(committed_council, standin, stop, paid_by_card, errors),
            ),
        ]
        for writer in writers:
            writer.start()

        def wait_for(counter_payments: int, card_payments: int) -> None:
            while len(paid) < counter_payments or len(paid_by_card) < card_payments:
                if errors or not all(writer.is_alive() for writer in writers):
                    return
                time.sleep(0.05)

        try:
            wait_for(20, 3)  # both writers are under way
            out = io.StringIO()
            call_command("move_council", committed_council.slug, str(target), stdout=out)
            at_the_switch = (len(paid), len(paid_by_card))
            wait_for(at_the_switch[0] + 20, at_the_switch[1] + 3)  # ...and carry on after it
        finally:
            stop.set()
            for writer in writers:
                writer.join(timeout=60)
        assert not errors, errors
        assert at_the_switch[0] > 20 and at_the_switch[1] > 3
        assert council_placements()[schema].node == target
        assert f"is on {target}" in out.getvalue()

        with schema_context(schema):
            counter = Receipt.objects.filter(idempotency_key__startswith="move:")
            assert sorted(counter.values_list("idempotency_key", flat=True)) == sorted(paid)
            total = counter.aggregate(total=Sum("amount_pence"))["total"]
            assert total == PAYMENT_PENCE * len(paid)
            by_card = GovukPayPayment.objects.filter(payment_id__in=paid_by_card)
            assert by_card.count() == len(paid_by_card)
            assert not by_card.filter(receipt=None).exists()
            card_receipts = Receipt.objects.filter(govuk_pay_payment__in=by_card)
            assert card_receipts.count() == len(paid_by_card)
            assert card_receipts.aggregate(total=Sum("amount_pence"))["total"] == CARD_PENCE * len(
                paid_by_card
            )
            assert Receipt.objects.count() == len(paid) + len(paid_by_card)
            assert not GovukPayWebhookMessage.objects.filter(
                outcome=WebhookOutcome.PENDING
            ).exists()
            # The ledger balances: every receipt's postings sum to nothing.
            assert Posting.objects.aggregate(total=Sum("amount_pence"))["total"] == 0
            assert Posting.objects.filter(receipt__in=counter).count() == 2 * len(paid)

        moved = AuditEvent.objects.get(action="council.moved", target_id=str(committed_council.pk))
        assert moved.before["node"] == str(before) and moved.after["node"] == str(target)


def test_moves_that_make_no_sense_are_refused(committed_council, django_db_blocker):
    with django_db_blocker.unblock():
        here = council_placements()[committed_council.schema_name].node
        with pytest.raises(CommandError, match=rf"is on {re.escape(str(here))} already"):
            call_command("move_council", committed_council.slug, str(here))
        with pytest.raises(CommandError, match=r"127\.0\.0\.1:1 is not an active worker node"):
            call_command("move_council", committed_council.slug, "127.0.0.1:1")
        with pytest.raises(CommandError, match="is not a node: give it as host:port"):
            call_command("move_council", committed_council.slug, "worker-2")
        with pytest.raises(CommandError, match="No council has the subdomain 'nowhere'"):
            call_command("move_council", "nowhere", str(here))
        with pytest.raises(PlacementRefused, match=r"is on .* already"):
            move_council(council=committed_council, target=here, acting_user=None)
        assert council_placements()[committed_council.schema_name].node == here
        assert not AuditEvent.objects.filter(
            action="council.moved", target_id=str(committed_council.pk)
        ).exists()


def test_an_operator_moves_a_council_from_the_console(committed_council, django_db_blocker):
    with django_db_blocker.unblock():
        # Committed, and kept: removing a user reaches into every council's tables.
        operator = UserFactory(platform_role=PlatformRole.OPERATOR)
        client = sign_in(host_client(None), operator)
        here = council_placements()[committed_council.schema_name]
        target = _other_worker(committed_council.schema_name)
        page = client.get("/console/nodes/").content.decode()
        assert f"<code>{here.node}</code>" in page
        assert f'<option value="{target}">' in page
        field = f"move-{committed_council.pk}-node"
        answer = client.post(f"/console/nodes/{committed_council.pk}/move/", {field: str(target)})
        assert answer.status_code == 302
        assert council_placements()[committed_council.schema_name].node == target
        refused = client.post(f"/console/nodes/{committed_council.pk}/move/", {field: str(target)})
        assert refused.status_code == 409
        assert f"is on {target} already" in refused.content.decode()
        moved = AuditEvent.objects.get(action="council.moved", target_id=str(committed_council.pk))
        assert moved.actor_id == operator.pk and moved.after["node"] == str(target)


@pytest.mark.skipif(
    bool(os.environ.get("PYTEST_XDIST_WORKER")),
    reason="turns synchronous_commit off on the whole cluster, which the tests running beside "
    "it share (their moves would be refused): run alone, pytest --citus tests/citus/",
)
def test_a_move_is_refused_while_workers_acknowledge_commits_before_writing_them(
    committed_council, django_db_blocker
):
    with django_db_blocker.unblock(), commits_as("off"):
        target = _other_worker(committed_council.schema_name)
        with pytest.raises(CommandError, match="synchronous_commit = off"):
            call_command("move_council", committed_council.slug, str(target))
