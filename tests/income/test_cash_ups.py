"""Several cash-ups a day: each covers the receipts no earlier one covered, once, even when
two are submitted at the same moment; the count is blind to the cashier."""

import datetime
import importlib

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django_tenants.utils import schema_context

from income.accounts import bank_account, clearing_account, system_account
from income.actions.cash_up import authorise_cash_up, return_cash_up, submit_cash_up
from income.actions.receipts import Allocation, record_receipt
from income.balances import account_balance
from income.defaults import seed_income_defaults
from income.models import AccountKind, CashUp, CashUpReceipt, Channel, Fund, Receipt
from tenants.actions.councils import create_council
from tenants.audit.models import AuditEvent
from tenants.models import CouncilRole
from tests.concurrency import run_at_once
from tests.conftest import host_client, make_member
from tests.factories import PASSWORD, FundFactory

DAY = datetime.date(2026, 12, 2)


def take_cash(channel, fund, pence: int, key: str, cashier, day=DAY) -> Receipt:
    return record_receipt(
        channel=channel,
        amount_pence=pence,
        received_on=day,
        allocations=[Allocation(fund, pence)],
        idempotency_key=key,
        acting_user=cashier,
    ).receipt


def cash_up(council, cashier, notes: dict[int, int], *, note: str = "", **extra) -> CashUp:
    return submit_cash_up(
        council=council,
        business_date=DAY,
        denominations=notes,
        cheques=[],
        note=note,
        acting_user=cashier,
        **extra,
    )


def covered_by(cash_up_: CashUp) -> set[str]:
    return {cover.receipt.number for cover in cash_up_.covered.select_related("receipt")}


@pytest.mark.django_db
def test_two_cash_ups_on_one_day_both_succeed_and_cover_disjoint_receipts(
    council_a, cash, council_tax, officer
):
    first_receipt = take_cash(cash, council_tax, 2_000, "t1", officer)
    till_1 = cash_up(council_a, officer, {2000: 1}, till="Till 1")
    second_receipt = take_cash(cash, council_tax, 500, "t2", officer)
    till_2 = cash_up(council_a, officer, {500: 1}, till="Till 2")

    assert covered_by(till_1) == {first_receipt.number}
    assert covered_by(till_2) == {second_receipt.number}
    # The expected total of each is what its receipts add up to.
    assert (till_1.expected_pence, till_1.variance_pence) == (2_000, 0)
    assert (till_2.expected_pence, till_2.variance_pence) == (500, 0)
    assert CashUpReceipt.objects.count() == Receipt.objects.count() == 2


@pytest.mark.django_db
def test_a_late_cash_receipt_is_cashed_up_by_a_second_cash_up_after_the_first_is_banked(
    council_a, cash, council_tax, officer, manager
):
    take_cash(cash, council_tax, 3_500, "l1", officer)
    morning = cash_up(council_a, officer, {2000: 1, 1000: 1, 500: 1})
    authorise_cash_up(council=council_a, cash_up=morning, acting_user=manager)
    late = take_cash(cash, council_tax, 1_250, "l2", officer)

    # Before, this was "You have already submitted a cash-up for 02 December 2026".
    afternoon = cash_up(council_a, officer, {1000: 1, 200: 1, 50: 1})

    assert covered_by(afternoon) == {late.number}
    # The variance counts only the late receipt, not the cash already banked.
    assert (afternoon.expected_cash_pence, afternoon.variance_pence) == (1_250, 0)
    authorise_cash_up(council=council_a, cash_up=afternoon, acting_user=manager)
    assert account_balance(bank_account()) == 4_750
    assert account_balance(clearing_account(cash)) == 0
    assert account_balance(system_account(AccountKind.CASH_VARIANCE)) == 0


@pytest.mark.django_db
def test_a_variance_is_against_the_receipts_not_yet_cashed_up(
    council_a, cash, council_tax, officer, manager
):
    take_cash(cash, council_tax, 1_000, "v1", officer)
    authorise_cash_up(
        council=council_a, cash_up=cash_up(council_a, officer, {1000: 1}), acting_user=manager
    )
    take_cash(cash, council_tax, 700, "v2", officer)

    short = cash_up(council_a, officer, {500: 1, 100: 1, 50: 1}, note="50p missing")

    assert (short.expected_pence, short.variance_pence) == (700, -50)
    authorise_cash_up(council=council_a, cash_up=short, acting_user=manager)
    assert account_balance(system_account(AccountKind.CASH_VARIANCE)) == 50
    assert account_balance(clearing_account(cash)) == 0


@pytest.mark.django_db
def test_the_same_form_sent_twice_makes_one_cash_up(council_a, cash, council_tax, officer):
    take_cash(cash, council_tax, 2_000, "s1", officer)
    first = cash_up(council_a, officer, {2000: 1}, submission_key="form-1")
    again = cash_up(council_a, officer, {2000: 1}, submission_key="form-1")

    assert again.pk == first.pk and CashUp.objects.count() == 1
    assert covered_by(first) == {Receipt.objects.get().number}


@pytest.mark.django_db
def test_a_count_that_differs_says_so_without_the_amount_and_records_nothing(
    council_a, cash, council_tax, officer
):
    take_cash(cash, council_tax, 1_050, "b1", officer)
    with pytest.raises(ValidationError) as refusal:
        cash_up(council_a, officer, {1000: 1})

    assert refusal.value.messages == [
        "The count does not match the takings: explain the difference in the note."
    ]
    assert not CashUp.objects.exists() and not CashUpReceipt.objects.exists()


@pytest.mark.django_db
def test_only_the_authoriser_sees_what_was_expected_and_the_variance(
    council_a, cash, council_tax, officer, manager
):
    take_cash(cash, council_tax, 1_050, "p1", officer)
    cashier = host_client(council_a)
    cashier.login(email=officer.email, password=PASSWORD)
    form = {
        "business_date": "02/12/2026", "note": "", "till": "Till 1", "count_1000": "1",
        "cheque-TOTAL_FORMS": "5", "cheque-INITIAL_FORMS": "0",
        "cheque-MIN_NUM_FORMS": "0", "cheque-MAX_NUM_FORMS": "50",
    }  # fmt: skip
    refused = cashier.post("/cash-ups/new/", form).content.decode()
    assert "The count does not match the takings: explain the difference in the note." in refused
    assert "£0.50" not in refused and "£10.50" not in refused and "short" not in refused

    assert cashier.post("/cash-ups/new/", {**form, "note": "Short"}).status_code == 302
    submitted = CashUp.objects.get()
    for page in (cashier.get("/cash-ups/"), cashier.get(f"/cash-ups/{submitted.pk}/")):
        text = page.content.decode()
        assert "Variance" not in text and "£10.50" not in text and "-£0.50" not in text

    authoriser = host_client(council_a)
    authoriser.login(email=manager.email, password=PASSWORD)
    text = authoriser.get(f"/cash-ups/{submitted.pk}/").content.decode()
    assert "Variance" in text and "-£0.50" in text and "(takings £10.50)" in text
    assert "Variance" in authoriser.get("/cash-ups/").content.decode()


@pytest.mark.django_db
def test_existing_cash_ups_cover_the_receipts_of_their_day_after_the_migration(
    council_a, cash, council_tax, officer
):
    migration = importlib.import_module(
        "income.migrations.0025_cash_ups_cover_receipts_and_welsh_fund_names"
    )
    covered = take_cash(cash, council_tax, 800, "m1", officer)
    other_day = take_cash(cash, council_tax, 300, "m2", officer, day=DAY - datetime.timedelta(1))
    old = CashUp.objects.create(
        cashier_id=officer.pk, cashier_email=officer.email, business_date=DAY,
        cash_counted_pence=800, cheques_counted_pence=0,
        expected_cash_pence=800, expected_cheques_pence=0,
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(migration.COVER_EXISTING_CASH_UPS)

    assert covered_by(old) == {covered.number}
    # The other day's receipt waits for a cash-up of its own day.
    assert not CashUpReceipt.objects.filter(receipt=other_day).exists()


@pytest.fixture
def committed_council(django_db_setup, django_db_blocker):
    """A council of its own whose writes are committed, so that threads see one another."""
    with django_db_blocker.unblock():
        council = create_council(name="Cash-up Race Council", slug="cash-race", acting_user=None)
        cashier = make_member(council, CouncilRole.INCOME_OFFICER)
        with schema_context(council.schema_name):
            seed_income_defaults()
            fund = FundFactory(code="CTAX")
            channel = Channel.objects.get(code="CASH")
            for number in range(6):
                take_cash(channel, fund, 1_000, f"race-{number}", cashier)
        yield council, cashier
        connection.set_schema_to_public()
        council.delete(force_drop=True)


def test_two_cash_ups_submitted_at_once_never_cover_a_receipt_twice(committed_council):
    council, cashier = committed_council

    def submit(ready, till: str) -> int:
        with schema_context(council.schema_name):
            ready()
            return cash_up(council, cashier, {5000: 1, 1000: 1}, till=till, note="Counted").pk

    run_at_once(submit, [("Till 1",), ("Till 2",)], timeout=30)

    with schema_context(council.schema_name):
        cash_ups = list(CashUp.objects.order_by("submitted_at"))
        assert len(cash_ups) == 2
        covers = list(CashUpReceipt.objects.values_list("receipt_id", flat=True))
        assert sorted(covers) == sorted(Receipt.objects.values_list("pk", flat=True))
        # The first took all six receipts; the second, nothing left to cover.
        assert [c.expected_pence for c in cash_ups] == [6_000, 0]
        assert sum(c.expected_pence for c in cash_ups) == sum(
            r.amount_pence for r in Receipt.objects.all()
        )
        assert Fund.objects.count() == 1


@pytest.mark.django_db
def test_a_cash_up_and_what_it_covers_stay_in_their_council(
    council_a, council_b, cash, council_tax, officer
):
    take_cash(cash, council_tax, 900, "i1", officer)
    mine = cash_up(council_a, officer, {500: 1, 200: 2})
    assert covered_by(mine)

    with schema_context(council_b.schema_name):
        assert not CashUp.objects.exists() and not CashUpReceipt.objects.exists()
    outsider = make_member(council_b, CouncilRole.FINANCE_MANAGER)
    client = host_client(council_a)
    client.login(email=outsider.email, password=PASSWORD)
    assert client.get(f"/cash-ups/{mine.pk}/").status_code == 404


@pytest.mark.django_db
def test_a_cashed_up_receipt_reversed_leaves_the_bank_not_the_till(
    council_a, cash, council_tax, officer, manager
):
    from income.actions.receipts import reverse_receipt

    receipt = take_cash(cash, council_tax, 2_000, "bounce", officer)
    pending = cash_up(council_a, officer, {2000: 1})

    # Counted and waiting for authorisation: the count would no longer match the takings.
    with pytest.raises(ValidationError) as refusal:
        reverse_receipt(council=council_a, receipt=receipt, reason="Bounced", acting_user=manager)
    assert refusal.value.messages == [
        f"{receipt.number} is counted in cash-up {pending.pk}, which is waiting to be "
        "authorised: have the cash-up decided first, then reverse the receipt."
    ]
    authorise_cash_up(council=council_a, cash_up=pending, acting_user=manager)
    assert account_balance(clearing_account(cash)) == 0
    banked = account_balance(bank_account())

    reverse_receipt(council=council_a, receipt=receipt, reason="Bounced", acting_user=manager)

    # Before, the till's clearing account went £20 below nothing, with nothing to explain it.
    assert account_balance(clearing_account(cash)) == 0
    assert account_balance(bank_account()) == banked - 2_000


@pytest.mark.django_db
def test_a_returned_cash_up_banks_nothing_and_its_receipts_are_counted_again(
    council_a, cash, council_tax, officer, manager
):
    receipt = take_cash(cash, council_tax, 2_000, "r1", officer)
    miscounted = cash_up(council_a, officer, {1000: 1}, note="Short?")

    returned = return_cash_up(
        council=council_a,
        cash_up=miscounted,
        reason="A £10 note was in the cheque bag: count again",
        acting_user=manager,
    )

    assert returned.status == "rejected"
    assert returned.get_status_display() == "Returned to the cashier"
    assert (returned.returned_by_email, returned.journal) == (manager.email, None)
    assert covered_by(returned) == set()
    assert account_balance(bank_account()) == 0
    assert account_balance(clearing_account(cash)) == 2_000
    event = AuditEvent.objects.get(action="cash_up.returned")
    assert event.before["receipts"] == [receipt.pk]
    assert event.reason == "A £10 note was in the cheque bag: count again"
    # The recount covers the same receipt, and banks it once.
    recount = cash_up(council_a, officer, {2000: 1})
    assert covered_by(recount) == {receipt.number}
    authorise_cash_up(council=council_a, cash_up=recount, acting_user=manager)
    assert account_balance(bank_account()) == 2_000
    assert account_balance(clearing_account(cash)) == 0
    with pytest.raises(ValidationError) as refusal:
        authorise_cash_up(council=council_a, cash_up=returned, acting_user=manager)
    assert refusal.value.messages == ["This cash-up is already returned to the cashier."]


@pytest.mark.django_db
def test_a_cash_up_goes_back_only_with_a_reason_and_never_by_its_own_cashier(
    council_a, cash, council_tax, officer, manager
):
    take_cash(cash, council_tax, 500, "r2", manager)
    own = cash_up(council_a, manager, {500: 1})
    with pytest.raises(PermissionDenied):
        return_cash_up(council=council_a, cash_up=own, reason="Mine", acting_user=manager)
    take_cash(cash, council_tax, 500, "r3", officer)
    theirs = cash_up(council_a, officer, {500: 1})
    with pytest.raises(PermissionDenied):
        return_cash_up(council=council_a, cash_up=own, reason="Theirs", acting_user=officer)
    with pytest.raises(ValidationError) as refusal:
        return_cash_up(council=council_a, cash_up=theirs, reason="  ", acting_user=manager)
    assert refusal.value.messages == ["Say why the cash-up is going back to the cashier."]
    for submitted in (own, theirs):
        submitted.refresh_from_db()
        assert submitted.status == "submitted"
        assert len(covered_by(submitted)) == 1


@pytest.mark.django_db
def test_an_authoriser_returns_a_cash_up_through_its_page(
    council_a, cash, council_tax, officer, manager
):
    take_cash(cash, council_tax, 700, "r4", officer)
    submitted = cash_up(council_a, officer, {500: 1, 200: 1})
    authoriser = host_client(council_a)
    authoriser.login(email=manager.email, password=PASSWORD)
    page = f"/cash-ups/{submitted.pk}/"

    refused = authoriser.post(page, {"decision": "return", "reason": ""})
    assert refused.status_code == 200
    text = refused.content.decode()
    assert 'href="#reason">Say why the cash-up is going back to the cashier.' in text
    assert 'aria-describedby="reason-error"' in text

    done = authoriser.post(page, {"decision": "return", "reason": "Recount the coins"})
    assert done.status_code == 302
    text = authoriser.get(page).content.decode()
    assert "Returned to the cashier" in text and "Recount the coins" in text
    assert "Authorise and bank" not in text
