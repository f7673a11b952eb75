"""A new council takes a spare schema built ahead from the release's snapshot (tenants.
spare_schemas): the same schema a replay under its own name builds, working, and the pool topped
up again by a real worker; a spare of another release is never taken."""

import dataclasses
import datetime
import io

import pytest
from django.core.management import call_command
from django.db import connection
from django_tenants.utils import schema_context

from income.accounts import fund_account
from income.actions.receipts import Allocation, record_receipt
from income.balances import account_balance
from income.models import Channel
from tenants.actions.councils import create_council
from tenants.models import Council, Domain, SpareSchema
from tenants.schema_snapshot import current_snapshot
from tenants.spare_schemas import SPARE_PREFIX, build_spare, replenish, take_spare
from tests.citus_suite import skip_on_citus
from tests.factories import FundFactory
from tests.tenants.test_schema_snapshot import describe, without_casts
from tests.waiting import wait_for


def schemas_named(prefix: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)", [prefix])
        return {row[0] for row in cursor.fetchall()}


def assert_same_schema(built: str, replayed: str) -> None:
    ours, theirs = describe(built), describe(replayed)
    for part in theirs:
        if part in ("indexes", "constraints"):
            assert without_casts(ours[part]) == without_casts(theirs[part]), part
        else:
            assert ours[part] == theirs[part], part


@pytest.mark.django_db
def test_a_new_council_takes_a_spare_and_gets_the_schema_a_replay_builds(council_a):
    # council_a was built by replaying the snapshot (the tests keep the pool off).
    spare = build_spare(current_snapshot())
    assert SpareSchema.objects.filter(schema_name=spare).exists()

    council = create_council(name="Spare Taker", slug="spare-taker", acting_user=None)

    assert not SpareSchema.objects.exists()
    assert spare not in schemas_named(SPARE_PREFIX)
    assert council.provisioning_state == "ready"
    assert_same_schema(council.schema_name, council_a.schema_name)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT array_to_string(proconfig, ',') FROM pg_proc"
            " WHERE pronamespace = %s::regnamespace AND proconfig IS NOT NULL",
            [council.schema_name],
        )
        assert cursor.fetchall() == [(f"search_path={council.schema_name}, public",)]

    # Its seeded defaults and its ledger's triggers work under the new name.
    with schema_context(council.schema_name):
        fund = FundFactory()
        recorded = record_receipt(
            channel=Channel.objects.get(code="CASH"), amount_pence=1_234,
            received_on=datetime.date(2026, 12, 1), allocations=[Allocation(fund, 1_234)],
            idempotency_key="spare:1", acting_user=None, payer_reference="REF1",
        )  # fmt: skip
        assert recorded.created
        assert account_balance(fund_account(fund)) == -1_234


@pytest.mark.django_db
def test_a_spare_still_naming_itself_after_the_rename_is_left_and_the_council_builds_its_own(
    council_a, caplog
):
    spare = build_spare(current_snapshot())
    with connection.cursor() as cursor:  # a function whose body names its schema as text
        cursor.execute(
            f"CREATE FUNCTION {spare}.names_itself() RETURNS text LANGUAGE sql"
            f" AS $$ SELECT '{spare}.income_receipt' $$"
        )

    council = create_council(name="Own Build", slug="own-build", acting_user=None)

    assert f"spare schema {spare} still names itself in function names_itself" in caplog.text
    assert SpareSchema.objects.filter(schema_name=spare).exists()  # still a spare, whole
    assert spare in schemas_named(SPARE_PREFIX)
    assert council.provisioning_state == "ready"
    assert_same_schema(council.schema_name, council_a.schema_name)


# Production builds each spare in a transaction of its own; here, a spare built and dropped in
# one test transaction leaves its seeded rows' deferred checks pending on the Citus worker,
# which then refuses the drop. The worker test below drops an old spare on the cluster too.
BUILT_AND_DROPPED_IN_ONE_TRANSACTION = skip_on_citus(
    "a spare built and dropped inside one test transaction"
)


@BUILT_AND_DROPPED_IN_ONE_TRANSACTION
@pytest.mark.django_db
def test_a_spare_of_another_release_is_never_taken_and_is_dropped_when_topped_up():
    snapshot = current_snapshot()
    old_release = dataclasses.replace(snapshot, state="0" * 64)
    old = build_spare(old_release)

    assert take_spare("council_not_old", snapshot) is None
    council = create_council(name="Builds Own", slug="builds-own", acting_user=None)
    assert council.provisioning_state == "ready"
    assert old in schemas_named(SPARE_PREFIX)  # untouched by the new council

    topped_up = replenish(2)

    assert topped_up.dropped == [old]
    assert len(topped_up.built) == 2
    assert set(topped_up.built) == schemas_named(SPARE_PREFIX)
    assert set(SpareSchema.objects.values_list("state", flat=True)) == {snapshot.state}
    assert replenish(2).built == []  # full already


@BUILT_AND_DROPPED_IN_ONE_TRANSACTION
@pytest.mark.django_db
def test_with_the_pool_off_a_top_up_builds_nothing_and_still_drops_old_spares():
    old = build_spare(dataclasses.replace(current_snapshot(), state="1" * 64))
    topped_up = replenish(0)
    assert topped_up.built == []
    assert topped_up.dropped == [old]
    assert not schemas_named(SPARE_PREFIX)


@pytest.fixture
def committed(django_db_blocker):
    """Outside any test transaction: the worker must see the council, and on-commit hooks
    must fire. Whatever the test made is removed after it."""
    with django_db_blocker.unblock():
        yield
        for council in Council.objects.filter(slug__startswith="pool-"):
            Domain.objects.filter(tenant=council).delete()
            with connection.cursor() as cursor:
                cursor.execute(f'DROP SCHEMA IF EXISTS "{council.schema_name}" CASCADE')
            council.delete()
        replenish(0)
        for name in SpareSchema.objects.values_list("schema_name", flat=True):
            with connection.cursor() as cursor:
                cursor.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        SpareSchema.objects.all().delete()


@pytest.mark.worker
def test_the_worker_tops_the_pool_up_after_each_new_council(
    celery_worker_process, committed, settings
):
    settings.SPARE_COUNCIL_SCHEMAS = 2
    old = build_spare(dataclasses.replace(current_snapshot(), state="2" * 64))

    first = create_council(name="Pool One", slug="pool-one", acting_user=None)
    # None of this release to take yet: built here; then the worker drops the old spare and
    # builds two for the next councils.
    wait_for(
        lambda: SpareSchema.objects.count() == 2 and old not in schemas_named(SPARE_PREFIX),
        timeout=90,
    )
    spares = set(SpareSchema.objects.values_list("schema_name", flat=True))

    second = create_council(name="Pool Two", slug="pool-two", acting_user=None)

    assert len(spares - set(SpareSchema.objects.values_list("schema_name", flat=True))) == 1
    wait_for(lambda: SpareSchema.objects.count() == 2, timeout=90)
    assert "Task tenants.replenish_spare_schemas[" in celery_worker_process.log()
    assert first.schema_name in schemas_named("council_pool_")
    assert second.schema_name in schemas_named("council_pool_")
    assert not set(SpareSchema.objects.values_list("schema_name", flat=True)) & {
        first.schema_name,
        second.schema_name,
    }


def test_a_release_replaces_the_last_release_spares(committed, settings):
    settings.SPARE_COUNCIL_SCHEMAS = 1
    old = build_spare(dataclasses.replace(current_snapshot(), state="3" * 64))

    out = io.StringIO()
    call_command("release", stdout=out)

    assert "Spare council schemas: 1 built, 1 of an earlier release dropped" in out.getvalue()
    assert old not in schemas_named(SPARE_PREFIX)
    assert list(SpareSchema.objects.values_list("state", flat=True)) == [current_snapshot().state]
