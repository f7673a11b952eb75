# Long because it holds one test per ledger action and refusal, over one shared fixture.
"""The ledger, receipts, suspense, transfers, refunds and cash-up: what they do and refuse."""

import contextlib
import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, InternalError, connection, transaction

from income.accounts import fund_account, suspense_account
from income.actions.cash_up import authorise_cash_up, submit_cash_up
from income.actions.ledger import PostingLine, post_journal, reverse_journal
from income.actions.receipts import (
    Allocation,
    IdempotencyConflict,
    record_receipt,
    reverse_receipt,
)
from income.actions.refunds import approve_refund, raise_refund
from income.actions.suspense import allocate_from_suspense
from income.actions.transfers import reverse_transfer, transfer_between_funds
from income.balances import account_balance, receipt_allocation, refundable_pence
from income.models import Journal, JournalKind, Posting, Receipt, RefundStatus
from tests.factories import FundFactory

# What a ledger trigger's refusal arrives as: an IntegrityError (its SQLSTATE) on PostgreSQL;
# on Citus, where a statement trigger fires on the worker holding the council, the message
# arrives whole but under Citus's own SQLSTATE (internal error).
REFUSED_BY_A_STATEMENT_TRIGGER = (IntegrityError, InternalError)

TODAY = datetime.date(2026, 11, 24)


def take(channel, allocations, *, key, user=None, reference="", amount=None):
    total = amount if amount is not None else sum(a.amount_pence for a in allocations)
    return record_receipt(
        channel=channel,
        amount_pence=total,
        received_on=TODAY,
        allocations=allocations,
        idempotency_key=key,
        acting_user=user,
        payer_reference=reference,
        payer_name="A Payer",
    )


def test_a_receipt_debits_clearing_and_credits_its_funds(cash, council_tax, parking, officer):
    recorded = take(
        cash,
        [Allocation(council_tax, 10_000), Allocation(parking, 2_550), Allocation(None, 450)],
        key="counter:1",
        user=officer,
    )
    receipt = recorded.receipt

    assert recorded.created
    assert receipt.number.startswith("R")
    assert account_balance(fund_account(council_tax)) == -10_000
    assert account_balance(fund_account(parking)) == -2_550
    assert account_balance(suspense_account()) == -450
    assert receipt_allocation(receipt) == {council_tax.pk: 10_000, parking.pk: 2_550, None: 450}
    assert sum(p.amount_pence for p in Posting.objects.filter(journal=receipt.journal)) == 0


def test_the_same_idempotency_key_records_one_receipt(cash, council_tax):
    first = take(cash, [Allocation(council_tax, 1_000)], key="file:abc:7")
    again = take(cash, [Allocation(council_tax, 1_000)], key="file:abc:7")

    assert again.receipt == first.receipt
    assert not again.created
    assert Receipt.objects.filter(idempotency_key="file:abc:7").count() == 1
    assert account_balance(fund_account(council_tax)) == -1_000


def test_the_same_key_for_a_different_amount_is_refused(cash, council_tax):
    take(cash, [Allocation(council_tax, 1_000)], key="govukpay:pay-1")
    with pytest.raises(IdempotencyConflict, match="already recorded as R"):
        take(cash, [Allocation(council_tax, 2_000)], key="govukpay:pay-1")


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (-500, "positive whole number of pence"),
        (0, "positive whole number of pence"),
        (12.5, "positive whole number of pence"),
        ("1000", "positive whole number of pence"),
        (True, "positive whole number of pence"),
    ],
)
def test_amounts_that_are_not_positive_whole_pence_are_refused(cash, council_tax, amount, message):
    with pytest.raises(ValidationError, match=message):
        take(cash, [Allocation(council_tax, 1_000)], key=f"bad:{amount!r}", amount=amount)
    assert not Receipt.objects.exists()


def test_allocations_must_add_up_to_the_payment(cash, council_tax):
    with pytest.raises(ValidationError, match=r"add up to £9\.00, not the £10\.00 paid"):
        take(cash, [Allocation(council_tax, 900)], key="short", amount=1_000)


def test_a_disabled_fund_a_closed_channel_and_limits_are_refused_with_reasons(ledger, cash):
    disabled = FundFactory(code="OLD", name="Old fund", is_active=False)
    limited = FundFactory(code="LIM", name="Limited", min_amount_pence=500, max_amount_pence=900)
    limited.overpayment_handling = "refuse"
    limited.save()
    card_only = FundFactory(code="WEB", name="Web only")
    card_only.channels.set([ledger_channel("CARD")])

    with pytest.raises(ValidationError) as refused:
        take(
            cash,
            [
                Allocation(disabled, 1_000),
                Allocation(limited, 100),
                Allocation(limited, 1_000),
                Allocation(card_only, 100),
            ],
            key="many-problems",
        )
    messages = refused.value.messages
    assert "OLD Old fund is disabled." in messages
    assert "LIM takes at least £5.00." in messages
    assert "LIM takes at most £9.00." in messages
    assert "WEB does not take payments by Cash." in messages
    assert not Receipt.objects.exists()


def ledger_channel(code):
    from income.models import Channel

    return Channel.objects.get(code=code)


def test_an_overpayment_beyond_the_maximum_goes_to_suspense_when_the_fund_says_so(cash, ledger):
    fines = FundFactory(code="PCN", name="Penalty", max_amount_pence=7_000)
    fines.overpayment_handling = "suspense"
    fines.save()
    receipt = take(cash, [Allocation(fines, 10_000)], key="over").receipt
    assert receipt_allocation(receipt) == {fines.pk: 7_000, None: 3_000}


def test_an_unbalanced_journal_is_refused_by_the_action_and_by_the_database(ledger, council_tax):
    with pytest.raises(ValidationError, match="out by 1 pence"):
        post_journal(
            kind=JournalKind.TRANSFER,
            description="wrong",
            lines=[
                PostingLine(fund_account(council_tax), 101),
                PostingLine(suspense_account(), -100),
            ],
            acting_user=None,
        )
    journal = Journal.objects.create(kind=JournalKind.TRANSFER, description="raw SQL")
    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        Posting.objects.bulk_create(
            [
                Posting(journal=journal, account=fund_account(council_tax), amount_pence=101),
                Posting(journal=journal, account=suspense_account(), amount_pence=-100),
            ]
        )


def test_postings_and_journals_cannot_be_changed_or_deleted(cash, council_tax):
    receipt = take(cash, [Allocation(council_tax, 1_000)], key="fixed").receipt
    for sql in (
        "UPDATE income_posting SET amount_pence = amount_pence * 2",
        "DELETE FROM income_posting",
        "DELETE FROM income_journal",
    ):
        with (
            pytest.raises(Exception, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'income_%_no_truncate'"
            " AND tgrelid::regclass::text IN ('income_posting', 'income_journal')"
        )
        assert cursor.fetchone()[0] == 2
    assert account_balance(fund_account(council_tax)) == -1_000
    assert receipt.postings.count() == 2


def test_a_reversal_mirrors_its_journal_and_cannot_happen_twice(
    cash, council_tax, parking, officer
):
    receipt = take(cash, [Allocation(council_tax, 3_000)], key="t1").receipt
    journal = transfer_between_funds(
        council=officer.memberships.get().council,
        receipt=receipt,
        from_fund=council_tax,
        to_fund=parking,
        amount_pence=1_000,
        note="Paid to the wrong fund",
        acting_user=officer,
    )
    assert receipt_allocation(receipt) == {council_tax.pk: 2_000, parking.pk: 1_000}
    reversal = reverse_transfer(
        council=officer.memberships.get().council,
        journal=journal,
        reason="It was right",
        acting_user=officer,
    )
    assert receipt_allocation(receipt) == {council_tax.pk: 3_000}
    paired = Posting.objects.filter(journal__in=[journal, reversal])
    assert sum(p.amount_pence for p in paired) == 0
    with pytest.raises(ValidationError, match="already been reversed"):
        reverse_journal(journal=journal, reason="again", acting_user=officer)


def test_suspense_is_allocated_by_journal_and_never_beyond_what_it_holds(
    council_a, cash, council_tax, parking, officer
):
    receipt = take(cash, [Allocation(None, 5_000)], key="s1", reference="UNKNOWN").receipt
    with pytest.raises(ValidationError, match=r"Only £50\.00 of R\d+ is in suspense, not £60\.00"):
        allocate_from_suspense(
            council=council_a,
            receipt=receipt,
            allocations=[Allocation(council_tax, 6_000)],
            note="Found it",
            acting_user=officer,
        )
    allocate_from_suspense(
        council=council_a,
        receipt=receipt,
        allocations=[Allocation(council_tax, 3_000), Allocation(parking, 2_000)],
        note="Split across two accounts, confirmed by phone",
        acting_user=officer,
    )
    assert receipt_allocation(receipt) == {council_tax.pk: 3_000, parking.pk: 2_000}
    assert account_balance(suspense_account()) == 0


def test_an_auditor_changes_nothing(council_a, cash, council_tax, auditor):
    receipt = take(cash, [Allocation(None, 5_000)], key="s2").receipt
    with pytest.raises(PermissionDenied, match="does not allow this"):
        allocate_from_suspense(
            council=council_a,
            receipt=receipt,
            allocations=[Allocation(council_tax, 5_000)],
            note="x",
            acting_user=auditor,
        )
    with pytest.raises(PermissionDenied):
        raise_refund(
            council=council_a,
            receipt=receipt,
            fund=None,
            amount_pence=100,
            reason="x",
            acting_user=auditor,
        )
    assert receipt_allocation(receipt) == {None: 5_000}


def test_refunds_need_a_second_person_and_never_exceed_what_is_left(
    council_a, cash, council_tax, officer, manager
):
    receipt = take(cash, [Allocation(council_tax, 5_000)], key="r1").receipt
    refund = raise_refund(
        council=council_a,
        receipt=receipt,
        fund=council_tax,
        amount_pence=3_000,
        reason="Overpaid",
        acting_user=officer,
    )
    with pytest.raises(ValidationError, match=r"At most £20\.00 of R\d+ can be refunded from CTAX"):
        raise_refund(
            council=council_a,
            receipt=receipt,
            fund=council_tax,
            amount_pence=2_001,
            reason="And more",
            acting_user=officer,
        )
    with pytest.raises(PermissionDenied, match=r"Income officer\) does not allow this"):
        approve_refund(council=council_a, refund=refund, acting_user=officer)
    own = raise_refund(
        council=council_a,
        receipt=receipt,
        fund=council_tax,
        amount_pence=100,
        reason="Raised by the manager",
        acting_user=manager,
    )
    with pytest.raises(PermissionDenied, match="someone else must approve"):
        approve_refund(council=council_a, refund=own, acting_user=manager)

    approve_refund(council=council_a, refund=refund, acting_user=manager)
    refund.refresh_from_db()
    assert refund.status == RefundStatus.APPROVED
    assert receipt_allocation(receipt) == {council_tax.pk: 2_000}
    # £1 of the £20 left is held by the manager's own refund, still awaiting approval.
    assert refundable_pence(receipt, council_tax.pk) == 1_900


def test_the_database_refuses_a_self_approved_refund(council_a, cash, council_tax, officer):
    receipt = take(cash, [Allocation(council_tax, 5_000)], key="r2").receipt
    refund = raise_refund(
        council=council_a,
        receipt=receipt,
        fund=council_tax,
        amount_pence=100,
        reason="x",
        acting_user=officer,
    )
    with pytest.raises(IntegrityError, match="refund_decider_is_not_raiser"), transaction.atomic():
        type(refund).objects.filter(pk=refund.pk).update(decided_by_id=officer.pk)


def test_a_reversed_receipt_leaves_nothing_behind(council_a, cash, council_tax, officer):
    receipt = take(cash, [Allocation(council_tax, 4_000), Allocation(None, 500)], key="x1").receipt
    reverse_receipt(
        council=council_a, receipt=receipt, reason="Cheque bounced", acting_user=officer
    )
    receipt.refresh_from_db()
    assert receipt.status == "reversed"
    assert receipt_allocation(receipt) == {}
    assert account_balance(fund_account(council_tax)) == 0


def test_a_cash_up_is_authorised_by_someone_else_and_banks_the_count(
    council_a, cash, council_tax, officer, manager
):
    take(cash, [Allocation(council_tax, 7_250)], key="c1", user=officer)
    cash_up = submit_cash_up(
        council=council_a,
        business_date=TODAY,
        denominations={5000: 1, 2000: 1, 200: 1, 50: 1},
        cheques=[],
        note="",
        acting_user=officer,
    )
    assert cash_up.variance_pence == 0
    with pytest.raises(PermissionDenied, match=r"Income officer\) does not allow this"):
        authorise_cash_up(council=council_a, cash_up=cash_up, acting_user=officer)
    managers_own = submit_cash_up(
        council=council_a,
        business_date=TODAY,
        denominations={},
        cheques=[],
        note="",
        acting_user=manager,
    )
    with pytest.raises(PermissionDenied, match="someone else must authorise"):
        authorise_cash_up(council=council_a, cash_up=managers_own, acting_user=manager)
    authorise_cash_up(council=council_a, cash_up=cash_up, acting_user=manager)
    assert account_balance(fund_account(council_tax)) == -7_250
    from income.accounts import bank_account, clearing_account

    assert account_balance(bank_account()) == 7_250
    assert account_balance(clearing_account(cash)) == 0


def test_a_cash_up_that_does_not_match_needs_an_explanation(council_a, cash, council_tax, officer):
    take(cash, [Allocation(council_tax, 1_000)], key="c2", user=officer)
    with pytest.raises(
        ValidationError,
        match=r"^\['The count does not match the takings: explain the difference in the note\.'\]$",
    ):
        submit_cash_up(
            council=council_a,
            business_date=TODAY,
            denominations={},
            cheques=[],
            note="",
            acting_user=officer,
        )


def test_a_later_statement_cannot_add_postings_to_an_existing_journal(cash, council_tax):
    receipt = take(cash, [Allocation(council_tax, 1_000)], key="closed-journal").receipt
    with (
        pytest.raises(REFUSED_BY_A_STATEMENT_TRIGGER, match="already has its postings"),
        transaction.atomic(),
    ):
        # Balanced in itself, but it would change a journal that is already written.
        Posting.objects.bulk_create(
            [
                Posting(journal=receipt.journal, account=fund_account(council_tax), amount_pence=5),
                Posting(journal=receipt.journal, account=suspense_account(), amount_pence=-5),
            ]
        )
    assert receipt.journal.postings.count() == 2


def _insert_postings(rows: list[tuple[int, int, int, int | None]]) -> None:
    """One INSERT statement of (journal, account, pence, receipt) rows, as the importer and
    write_postings make them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO income_posting (journal_id, account_id, amount_pence, receipt_id) "
            "SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[])",
            [list(column) for column in zip(*rows, strict=True)],
        )


def _new_journal() -> Journal:
    return Journal.objects.create(kind=JournalKind.TRANSFER, description="raw SQL")


def test_a_posting_naming_a_missing_journal_receipt_or_account_is_refused(cash, council_tax):
    receipt = take(cash, [Allocation(council_tax, 1_000)], key="named").receipt
    fund, suspense = fund_account(council_tax).pk, suspense_account().pk
    missing = 10**12
    journal = _new_journal()
    for rows, named in (
        ([(missing, fund, 5, None), (missing, suspense, -5, None)], "journal_id"),
        ([(journal.pk, fund, 5, missing), (journal.pk, suspense, -5, None)], "receipt_id"),
        ([(journal.pk, missing, 5, receipt.pk), (journal.pk, suspense, -5, None)], "account_id"),
        # A missing receipt beside one that exists, far apart: looked up, not counted.
        (
            [(journal.pk, fund, 5, receipt.pk), (journal.pk, suspense, -2, missing),
             (journal.pk, suspense, -3, None)],
            "receipt_id",
        ),
    ):  # fmt: skip
        with (
            pytest.raises(REFUSED_BY_A_STATEMENT_TRIGGER, match=f"names {named} {missing}, which"),
            transaction.atomic(),
        ):
            _insert_postings(rows)
    assert not journal.postings.exists()


def test_postings_naming_existing_rows_around_a_gap_are_accepted(cash, council_tax, parking):
    first = take(cash, [Allocation(council_tax, 1_000)], key="gap-1").receipt
    with contextlib.suppress(RuntimeError), transaction.atomic():
        take(cash, [Allocation(parking, 100)], key="gap-rolled-back")
        raise RuntimeError("rolled back: its receipt id stays drawn, a gap")
    last = take(cash, [Allocation(council_tax, 2_000)], key="gap-2").receipt
    assert last.pk - first.pk == 2 and not Receipt.objects.filter(pk=first.pk + 1).exists()
    fund, other = fund_account(council_tax).pk, fund_account(parking).pk
    journals = [_new_journal(), _new_journal()]
    # Four rows name receipts across the gap: the range is counted, falls short, and each
    # named receipt is looked up.
    _insert_postings(
        [
            (journals[0].pk, fund, 300, first.pk), (journals[0].pk, other, -300, first.pk),
            (journals[0].pk, fund, 200, last.pk), (journals[0].pk, other, -200, last.pk),
        ]
    )  # fmt: skip
    # Two rows over a range of three ids: too wide to count, each is looked up.
    _insert_postings([(journals[1].pk, fund, 5, first.pk), (journals[1].pk, other, -5, last.pk)])
    assert Posting.objects.filter(journal__in=journals).count() == 6


def test_a_journal_can_only_reverse_a_journal_that_exists(cash, council_tax):
    reversed_journal = take(cash, [Allocation(council_tax, 1_000)], key="reversed").receipt.journal
    missing = 10**12
    with (
        pytest.raises(
            REFUSED_BY_A_STATEMENT_TRIGGER, match=f"reverses journal {missing}, which does not"
        ),
        transaction.atomic(),
    ):
        Journal.objects.create(kind=JournalKind.TRANSFER, description="raw", reverses_id=missing)
    # Among journals that reverse nothing (an import's), one that names an existing journal.
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO income_journal (kind, description, created_at, created_by_email, "
            "reverses_id) VALUES ('transfer', 'a', now(), '', NULL), "
            "('transfer', 'b', now(), '', %s)",
            [reversed_journal.pk],
        )
    assert Journal.objects.filter(reverses=reversed_journal).count() == 1


def test_a_later_statement_cannot_add_to_a_journal_among_new_ones(cash, council_tax):
    """The range check ("no older posting names a journal between the lowest and highest")
    finds the old journal, and the per-journal check names it."""
    before = _new_journal()
    written = take(cash, [Allocation(council_tax, 1_000)], key="in-range").receipt.journal
    after = _new_journal()
    fund, suspense = fund_account(council_tax).pk, suspense_account().pk
    with (
        pytest.raises(
            REFUSED_BY_A_STATEMENT_TRIGGER, match=f"journal {written.pk} already has its postings"
        ),
        transaction.atomic(),
    ):
        _insert_postings(
            [
                (before.pk, fund, 7, None), (before.pk, suspense, -7, None),
                (written.pk, fund, 5, None), (written.pk, suspense, -5, None),
                (after.pk, fund, 3, None), (after.pk, suspense, -3, None),
            ]
        )  # fmt: skip
    # An older posting of another journal inside the range is no reason to refuse.
    _insert_postings(
        [
            (before.pk, fund, 7, None), (before.pk, suspense, -7, None),
            (after.pk, fund, 3, None), (after.pk, suspense, -3, None),
        ]
    )  # fmt: skip
    assert written.postings.count() == 2


def test_a_receipt_must_name_an_existing_journal_and_channel(cash, card, council_tax):
    receipt = take(cash, [Allocation(council_tax, 1_000)], key="receipt-refs").receipt
    missing = 10**12
    columns = (
        "number, amount_pence, channel_id, received_on, payer_reference, payer_name, "
        "narrative, idempotency_key, status, created_at, journal_id"
    )
    for channel_id, journal_id, named in (
        (cash.pk, missing, "journal_id"),
        (missing, _new_journal().pk, "channel_id"),
    ):
        with (
            pytest.raises(REFUSED_BY_A_STATEMENT_TRIGGER, match=f"names {named} {missing}, which"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(
                f"INSERT INTO income_receipt ({columns}) VALUES "  # noqa: S608
                "('X1', 100, %s, now(), '', '', '', 'raw:1', 'active', now(), %s)",
                [channel_id, journal_id],
            )
    for change in ("journal_id", "channel_id"):
        with (
            pytest.raises(
                REFUSED_BY_A_STATEMENT_TRIGGER, match=f"names {change} {missing}, which does not"
            ),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(
                f"UPDATE income_receipt SET {change} = %s WHERE id = %s",  # noqa: S608
                [missing, receipt.pk],
            )
    # Changing them to rows that exist is a check passed, not a change refused.
    Receipt.objects.filter(pk=receipt.pk).update(channel=card)
    assert Receipt.objects.get(pk=receipt.pk).channel == card


def test_receipts_accounts_and_channels_the_ledger_names_are_kept(cash, council_tax):
    receipt = take(cash, [Allocation(council_tax, 1_000)], key="kept").receipt
    account = fund_account(council_tax)
    with connection.cursor() as cursor:
        # Deferred checks of this test's own rows would otherwise block the TRUNCATEs.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    for table, pk in (
        ("income_receipt", receipt.pk),
        ("income_account", account.pk),
        ("income_channel", cash.pk),
    ):
        for sql in (
            f"DELETE FROM {table} WHERE id = {pk}",  # noqa: S608
            f"UPDATE {table} SET id = id + 1000000 WHERE id = {pk}",  # noqa: S608
            f"TRUNCATE {table} CASCADE",
        ):
            with (
                pytest.raises(
                    IntegrityError, match=rf"refused on {table}(_\d+)?: the ledger names"
                ),
                transaction.atomic(),
                connection.cursor() as cursor,
            ):
                cursor.execute(sql)
    assert receipt.postings.count() == 2
    assert account_balance(account) == -1_000
