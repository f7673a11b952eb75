"""Exports against transactions that commit out of order, and exports racing each other: each
posting still goes to a target once. Each test's council commits, so threads see each other."""

import datetime
import threading

import pytest
from django.db import connection, connections, transaction
from django_tenants.utils import schema_context

from income.actions.exports import run_contents, run_export
from income.actions.receipts import Allocation, record_receipt
from income.defaults import seed_income_defaults
from income.exports.layout import parse_fields
from income.models import Channel, ExportTarget, Fund, Posting
from tenants.actions.councils import create_council
from tests.concurrency import run_at_once
from tests.factories import FundFactory


@pytest.fixture
def committed_council(django_db_setup, django_db_blocker, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path  # the files are made in this process (its threads)
    with django_db_blocker.unblock():
        council = create_council(name="Export Race Council", slug="export-race", acting_user=None)
        with schema_context(council.schema_name):
            seed_income_defaults()
            FundFactory(code="CTAX")
            ExportTarget.objects.create(name="Revenues", fields=parse_fields("reference\namount"))
        yield council
        connection.set_schema_to_public()
        council.delete(force_drop=True)


def pay(reference: str) -> None:
    record_receipt(
        channel=Channel.objects.get(code="CASH"),
        amount_pence=1_000,
        received_on=datetime.date(2026, 11, 20),
        allocations=[Allocation(Fund.objects.get(code="CTAX"), 1_000)],
        idempotency_key=f"counter:{reference}",
        acting_user=None,
        payer_reference=reference,
    )


def exported(run) -> list[str]:
    return [line.reference for line in run_contents(run, limit=100)]


def test_a_receipt_committed_after_a_later_one_goes_in_the_next_file(committed_council):
    written, commit = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def slow_transaction() -> None:
        try:
            with schema_context(committed_council.schema_name), transaction.atomic():
                pay("EARLY")  # its postings take the lower ids...
                written.set()
                commit.wait(timeout=30)  # ...but it commits last
        except BaseException as error:
            failures.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=slow_transaction)
    thread.start()
    try:
        assert written.wait(timeout=30)
        with schema_context(committed_council.schema_name):
            pay("LATE")
            target = ExportTarget.objects.get()
            first = run_export(council=committed_council, target=target, acting_user=None)
            commit.set()
            thread.join(timeout=30)
            assert not failures
            second = run_export(council=committed_council, target=target, acting_user=None)
            third = run_export(council=committed_council, target=target, acting_user=None)
            early, late = (
                Posting.objects.filter(receipt__payer_reference=ref).order_by("id").first().pk
                for ref in ("EARLY", "LATE")
            )
            assert early < late  # the case an export by posting id would get wrong
            assert exported(first) == ["LATE"]
            assert exported(second) == ["EARLY"]
            assert third.line_count == 0
    finally:
        commit.set()
        thread.join(timeout=30)


def test_exports_racing_for_one_target_send_each_receipt_once(committed_council):
    with schema_context(committed_council.schema_name):
        for n in range(20):
            pay(f"R{n:02d}")
        target = ExportTarget.objects.get()

    def export(ready, payments: list[str]) -> None:
        with schema_context(committed_council.schema_name):
            ready()
            for reference in payments:
                pay(reference)
            run_export(council=committed_council, target=target, acting_user=None)

    run_at_once(export, [([f"A{n}" for n in range(5)],), ([f"B{n}" for n in range(5)],)])
    with schema_context(committed_council.schema_name):
        run_export(council=committed_council, target=target, acting_user=None)
        sent = [reference for run in target.runs.all() for reference in exported(run)]
    assert sorted(sent) == sorted(
        [f"R{n:02d}" for n in range(20)] + [f"A{n}" for n in range(5)] + [f"B{n}" for n in range(5)]
    )
