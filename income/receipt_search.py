"""Finding receipts among millions: each filter is written to use its index (migration 0005).

Results come newest first, a page at a time, with keyset pagination (the last row's date and
id), so page 1,000 costs what page 1 does.
"""

import datetime
from dataclasses import dataclass

from django.contrib.postgres.expressions import ArraySubquery
from django.contrib.postgres.fields import ArrayField
from django.db import connection
from django.db.models import (
    BooleanField,
    Exists,
    F,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
)
from django.db.models.expressions import RawSQL

from income.fund_visibility import visible_receipts
from income.models import Account, Channel, Fund, PayerName, Posting, Receipt
from tenants.models import Membership

PAGE_SIZE = 50
# For the statement's own transaction: in autocommit the two statements sent together run in
# one implicit transaction, inside a caller's transaction until its end.
NO_PARALLEL_WORKERS = "SET LOCAL max_parallel_workers_per_gather = 0"
MIN_FRAGMENT = 3
# Receipts are counted up to this many; beyond it the page says "more than". Counting every
# one of millions would cost what the search itself does not: the page reads only fifty.
COUNT_CAP = 1_000


@dataclass(frozen=True)
class ReceiptQuery:
    reference: str = ""  # exact, or a prefix when it ends with *
    payer: str = ""  # any part of the payer's name, at least three characters
    amount_pence: int | None = None
    received_from: datetime.date | None = None
    received_to: datetime.date | None = None
    fund: Fund | None = None
    channel: Channel | None = None
    status: str = ""

    @property
    def is_empty(self) -> bool:
        return self == ReceiptQuery()


@dataclass(frozen=True)
class Cursor:
    received_on: datetime.date
    id: int

    def encode(self) -> str:
        return f"{self.received_on.isoformat()}.{self.id}"

    @classmethod
    def decode(cls, token: str) -> "Cursor | None":
        try:
            day, _, pk = token.partition(".")
            return cls(datetime.date.fromisoformat(day), int(pk))
        except ValueError:
            return None


def matching_receipts(
    query: ReceiptQuery, *, visible_to: Membership | None = None
) -> QuerySet[Receipt]:
    receipts = Receipt.objects.select_related("channel")
    if visible_to is not None:
        receipts = visible_receipts(visible_to, receipts)
    if query.reference:
        receipts = _with_reference(receipts, query.reference.strip().upper())
    if query.payer:
        receipts = _with_payer_fragment(receipts, query.payer.strip())
    if query.amount_pence is not None:
        receipts = receipts.filter(amount_pence=query.amount_pence)
    if query.received_from:
        receipts = receipts.filter(received_on__gte=query.received_from)
    if query.received_to:
        receipts = receipts.filter(received_on__lte=query.received_to)
    if query.channel:
        receipts = receipts.filter(channel=query.channel)
    if query.status:
        receipts = receipts.filter(status=query.status)
    if query.fund:
        # The fund's account inside the statement (run once, as an init plan): a lookup of
        # its own would cost a round trip for each search and each count.
        account = Account.objects.filter(fund_id=query.fund.pk).values("pk")[:1]
        receipts = receipts.filter(
            Exists(Posting.objects.filter(receipt_id=OuterRef("pk"), account_id=Subquery(account)))
        )
    return receipts


TRIGRAMS = ArrayField(TextField())  # income_trigrams' text[] (migration 0005)


class _IsAnyOf(Func):
    """`expression = ANY(array)`."""

    template = "(%(expressions)s))"
    arg_joiner = " = ANY("
    output_field = BooleanField()


def _with_payer_fragment(receipts: QuerySet[Receipt], fragment: str) -> QuerySet[Receipt]:
    """Receipts whose payer's name holds `fragment`: the names that hold it (income_payername's
    trigram index, then the exact test), then their receipts from (payer_name, received_on,
    id). As an array (`= ANY`) the planner reads each name's receipts from that index; as
    `IN (subquery)` it guessed one name and walked every receipt newest first instead."""
    names = (
        PayerName.objects.alias(
            trigrams=Func(F("name"), function="income_trigrams", output_field=TRIGRAMS)
        )
        .filter(
            trigrams__contains=Func(
                Value(fragment), function="income_fragment_trigrams", output_field=TRIGRAMS
            ),
            name__icontains=fragment,
        )
        .values("name")
    )
    # The index holds named receipts only; an empty name holds no fragment.
    return receipts.exclude(payer_name="").filter(_IsAnyOf(F("payer_name"), ArraySubquery(names)))


# A receipt's payer reference, or any of its lines' (from their own partial index, gathered
# into an array first). Written as SQL: built through the ORM, this condition cost about a
# millisecond of Python on every reference search, more than the SQL itself.
_REFERENCE_CONDITION = (
    '(UPPER("income_receipt"."payer_reference"){test} OR "income_receipt"."id" = ANY(ARRAY('
    'SELECT DISTINCT "income_posting"."receipt_id" FROM "income_posting" '
    'WHERE "income_posting"."receipt_id" IS NOT NULL AND "income_posting"."reference" IS NOT NULL '
    'AND UPPER("income_posting"."reference"){test})))'
)
_EXACT = _REFERENCE_CONDITION.format(test=" = %s")
_PREFIX = _REFERENCE_CONDITION.format(test="::text LIKE %s")


def _with_reference(receipts: QuerySet[Receipt], reference: str) -> QuerySet[Receipt]:
    """Receipts whose payer reference, or the reference of any of their lines (a split
    payment's second fund), is `reference` (a prefix when it ends with *). The lines are
    gathered first into an array (`= ANY`), so that the receipts are found by two index scans
    (payer reference, ids) in the search's own statement, not by a scan of every receipt or a
    query of their own."""
    if reference.endswith("*"):
        # As the ORM's startswith: the typed text's own % and _ match only themselves.
        pattern = connection.ops.prep_for_like_query(reference.rstrip("*")) + "%"
        sql, params = _PREFIX, [pattern, pattern]
    else:
        sql, params = _EXACT, [reference, reference]
    # The SQL is constant; what was typed goes in as parameters.
    return receipts.filter(RawSQL(sql, params, output_field=BooleanField()))  # noqa: S611


# What a page of results shows (income/templatetags/receipt_table.py): a page reads only
# these, and leaves the rest of each receipt deferred. Whole receipts and channels, with their
# timestamps and keys, were most of a full page's own time.
PAGE_RECEIPT_FIELDS = ("id", "number", "amount_pence", "channel", "received_on",
                       "payer_reference", "payer_name", "status")  # fmt: skip
PAGE_CHANNEL_FIELDS = ("id", "name")


def search_receipts(
    query: ReceiptQuery,
    *,
    after: Cursor | None = None,
    page_size: int = PAGE_SIZE,
    visible_to: Membership | None = None,
) -> tuple[list[Receipt], Cursor | None]:
    """One page of receipts (of those `visible_to` may see), and the cursor for the next page
    (None on the last)."""
    receipts = matching_receipts(query, visible_to=visible_to)
    if after is not None:
        receipts = receipts.filter(
            Q(received_on__lt=after.received_on) | Q(received_on=after.received_on, id__lt=after.id)
        )
    shown = receipts.only(
        *PAGE_RECEIPT_FIELDS, *(f"channel__{name}" for name in PAGE_CHANNEL_FIELDS)
    )
    page = list(shown.order_by("-received_on", "-id")[: page_size + 1])
    next_cursor = None
    if len(page) > page_size:
        page = page[:page_size]
        next_cursor = Cursor(page[-1].received_on, page[-1].pk)
    return page, next_cursor


@dataclass(frozen=True)
class ReceiptCount:
    count: int
    more: bool  # more than `count` match: counting stopped there

    def __str__(self) -> str:
        if self.more:
            return f"More than {self.count:,} receipts match"
        return f"{self.count:,} receipt{'' if self.count == 1 else 's'} match"


def count_receipts(
    query: ReceiptQuery, *, cap: int = COUNT_CAP, visible_to: Membership | None = None
) -> ReceiptCount:
    """How many receipts match (of those `visible_to` may see), counting no further than
    `cap`."""
    # In no order: counting stops at the first cap + 1 matches the plan reaches, where an
    # ordered count would first find and sort every match.
    counted = (
        matching_receipts(query, visible_to=visible_to).order_by().values("pk")[: cap + 1].count()
    )
    return ReceiptCount(min(counted, cap), counted > cap)


def first_page_and_count(
    query: ReceiptQuery,
    *,
    page_size: int = PAGE_SIZE,
    cap: int = COUNT_CAP,
    visible_to: Membership | None = None,
) -> tuple[list[Receipt], Cursor | None, ReceiptCount]:
    """The first page, the cursor for the next, and how many match (up to `cap`), from one
    statement: the newest cap + 1 matches are found once, counted, and the first page's
    receipts and channels read with them. Run as a page and a count, a name fragment's
    matches were read from the table twice; the page as a query of its own cost a round trip."""
    newest = (
        matching_receipts(query, visible_to=visible_to)
        .order_by("-received_on", "-id")
        .values_list("id", "received_on")[: cap + 1]
    )
    sql, params = newest.query.sql_with_params()
    receipt_fields = [Receipt._meta.get_field(name) for name in PAGE_RECEIPT_FIELDS]
    channel_fields = [Channel._meta.get_field(name) for name in PAGE_CHANNEL_FIELDS]
    columns = ", ".join(
        [f'r."{field.column}"' for field in receipt_fields]
        + [f'c."{field.column}"' for field in channel_fields]
    )
    with connection.cursor() as cursor:
        # `sql` is the ORM's own compiled query; every value in it is a parameter, and the
        # columns are the models' own. The search runs without parallel workers, set for its
        # own transaction in the same round trip: a fund's month at 5M receipts took 23 ms
        # alone and 42 to 200 ms with a worker (its start-up, and the other sessions it
        # competes with for the server's cores).
        cursor.execute(
            f"{NO_PARALLEL_WORKERS}; WITH matches AS MATERIALIZED ({sql}) "  # noqa: S608
            f"SELECT {columns}, (SELECT count(*) FROM matches) FROM "
            "(SELECT id, received_on FROM matches ORDER BY received_on DESC, id DESC LIMIT %s)"
            " AS page JOIN income_receipt r ON r.id = page.id"
            " JOIN income_channel c ON c.id = r.channel_id"
            " ORDER BY page.received_on DESC, page.id DESC",
            [*params, page_size + 1],
        )
        cursor.nextset()  # past the SET's empty result
        rows = cursor.fetchall()
    counted = rows[0][-1] if rows else 0
    receipt_names = [field.attname for field in receipt_fields]
    channel_names = [field.attname for field in channel_fields]
    page = []
    channels: dict[int, Channel] = {}  # a page's receipts share a few channels
    for row in rows[:page_size]:
        receipt = Receipt.from_db(connection.alias, receipt_names, row[: len(receipt_names)])
        channel = channels.get(receipt.channel_id)
        if channel is None:
            channel = channels[receipt.channel_id] = Channel.from_db(
                connection.alias, channel_names, row[len(receipt_names) : -1]
            )
        Receipt.channel.field.set_cached_value(receipt, channel)  # as select_related does
        page.append(receipt)
    next_cursor = Cursor(page[-1].received_on, page[-1].pk) if len(rows) > page_size else None
    return page, next_cursor, ReceiptCount(min(counted, cap), counted > cap)
