"""Finding receipts by reference, payer, amount, dates, fund, channel and status."""

import datetime

import pytest
from django.db import connection

from income.actions.receipts import Allocation, record_receipt
from income.receipt_search import Cursor, ReceiptQuery, search_receipts
from tests.conftest import host_client
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def receipts(cash, card, council_tax, parking):
    made = {}
    for key, channel, fund, pence, day, name, reference in (
        ("a", cash, council_tax, 1_000, 1, "Jo Smithson", "5001234567"),
        ("b", card, council_tax, 2_500, 2, "Ann O'Smith", "5001999999"),
        ("c", cash, parking, 2_500, 3, "Ravi Patel", "PCN77"),
        ("d", card, parking, 4_000, 4, "100% Smith_Ltd", "pcn78"),
    ):
        made[key] = record_receipt(
            channel=channel,
            amount_pence=pence,
            received_on=datetime.date(2026, 11, day),
            allocations=[Allocation(fund, pence)],
            idempotency_key=f"search:{key}",
            acting_user=None,
            payer_name=name,
            payer_reference=reference,
        ).receipt
    return made


def numbers(query, **kwargs):
    return [receipt.number for receipt in search_receipts(query, **kwargs)[0]]


def test_each_filter_finds_what_it_should(receipts, council_tax, card):
    r = {key: receipt.number for key, receipt in receipts.items()}
    assert numbers(ReceiptQuery(reference="5001234567")) == [r["a"]]
    assert numbers(ReceiptQuery(reference="5001*")) == [r["b"], r["a"]]
    assert numbers(ReceiptQuery(reference="PCN78")) == [r["d"]]  # case does not matter
    assert numbers(ReceiptQuery(payer="smith")) == [r["d"], r["b"], r["a"]]
    assert numbers(ReceiptQuery(payer="% Smith_")) == [r["d"]]  # wildcards are literal
    assert numbers(ReceiptQuery(payer="xyz")) == []
    assert numbers(ReceiptQuery(amount_pence=2_500)) == [r["c"], r["b"]]
    assert numbers(
        ReceiptQuery(
            amount_pence=2_500,
            received_from=datetime.date(2026, 11, 1),
            received_to=datetime.date(2026, 11, 2),
        )
    ) == [r["b"]]
    assert numbers(ReceiptQuery(fund=council_tax)) == [r["b"], r["a"]]
    assert numbers(ReceiptQuery(channel=card)) == [r["d"], r["b"]]


def test_pages_follow_on_from_the_last_row(receipts):
    query = ReceiptQuery(received_from=datetime.date(2026, 11, 1))
    first, cursor = search_receipts(query, page_size=3)
    second, last = search_receipts(query, after=cursor, page_size=3)
    assert len(first) == 3 and len(second) == 1 and last is None
    assert Cursor.decode(cursor.encode()) == cursor
    assert Cursor.decode("nonsense") is None


def test_the_name_fragment_search_uses_the_trigram_index(receipts):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT id FROM income_receipt "
            "WHERE payer_name <> '' AND "
            "income_trigrams(payer_name) @> income_fragment_trigrams('smith')"
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "receipt_payer_name_trigrams" in plan


def test_the_search_page_explains_bad_input_and_lists_results(council_a, receipts, officer):
    client = host_client(council_a)
    client.login(email=officer.email, password=PASSWORD)
    bad = client.get("/receipts/", {"payer": "jo", "received_from": "31/02/2026"}).content.decode()
    assert "Enter at least 3 letters of the name." in bad
    assert "Enter a valid date." in bad
    page = client.get("/receipts/", {"reference": "5001*"}).content.decode()
    assert receipts["a"].number in page and receipts["c"].number not in page
