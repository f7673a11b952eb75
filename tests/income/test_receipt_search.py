"""Finding receipts by reference, payer, amount, dates, fund, channel and status."""

import datetime

import pytest
from django.db import connection

from income.actions.receipts import Allocation, record_receipt
from income.models import PayerName, Receipt
from income.receipt_search import Cursor, ReceiptQuery, matching_receipts, search_receipts
from tests.citus_suite import skip_on_citus
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
    assert numbers(ReceiptQuery(reference="pcn*")) == [r["d"], r["c"]]
    # A typed % or _ matches only itself, not any text.
    assert numbers(ReceiptQuery(reference="50_1*")) == []
    assert numbers(ReceiptQuery(reference="5%*")) == []
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


def test_receipts_and_postings_are_vacuumed_every_twenty_thousand_inserts(council_a):
    """So that a search reads them by index alone (migration 0035), in a council built from
    the schema snapshot as in one migrated table by table."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reloptions FROM pg_class"
            " WHERE relnamespace = %s::regnamespace"
            " AND relname IN ('income_receipt', 'income_posting')",
            [council_a.schema_name],
        )
        options = dict(cursor.fetchall())
    expected = [
        "autovacuum_vacuum_insert_threshold=20000",
        "autovacuum_vacuum_insert_scale_factor=0",
    ]
    assert options == {"income_receipt": expected, "income_posting": expected}


@skip_on_citus(
    "the test turns sequential scans off in its own session, and the worker, which plans the "
    "council's query, plans four receipts with a scan"
)
def test_the_name_fragment_search_finds_names_first_then_their_receipts_by_index(receipts):
    # Four receipts and four names: left to itself the planner reads them any way at all, so
    # only bitmap scans are allowed, which need an index condition to use an index at all.
    with connection.cursor() as cursor:
        for scan in ("seqscan", "indexscan", "indexonlyscan"):
            cursor.execute(f"SET LOCAL enable_{scan} = off")
        searched = matching_receipts(ReceiptQuery(payer="smith")).order_by().values("id")
        sql, params = searched.query.sql_with_params()
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "payer_name_trigrams" in plan  # the names' own trigram index
    assert "receipt_payer_name_date" in plan  # then each name's receipts


def test_every_payer_name_is_kept_once_however_the_receipt_was_written(receipts, cash, parking):
    """Written one by one (the counter) or many in one statement (as an import's INSERT ...
    SELECT), a receipt's name joins the names; a name changed later too."""
    assert set(PayerName.objects.values_list("name", flat=True)) == {
        "Jo Smithson", "Ann O'Smith", "Ravi Patel", "100% Smith_Ltd"
    }  # fmt: skip
    record_receipt(
        channel=cash, amount_pence=500, received_on=datetime.date(2026, 11, 5),
        allocations=[Allocation(parking, 500)], idempotency_key="search:again",
        acting_user=None, payer_name="Ravi Patel",
    )  # fmt: skip
    assert PayerName.objects.filter(name="Ravi Patel").count() == 1
    # Many receipts in one statement, as imports write them (names repeat within it).
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH journals AS (INSERT INTO income_journal (kind, description, created_at,"
            " created_by_email) SELECT 'receipt', 'bulk', now(), '' FROM generate_series(1, 4)"
            " RETURNING id)"
            " INSERT INTO income_receipt (number, amount_pence, received_on, payer_reference,"
            " payer_name, narrative, idempotency_key, status, created_at, channel_id, journal_id)"
            " SELECT 'BULK-' || id, 100, '2026-11-06', '', CASE WHEN id %% 3 = 0 THEN ''"
            " WHEN id %% 2 = 0 THEN 'Mei Chen' ELSE 'Ola Nowak' END, '', 'bulk:' || id,"
            " 'active', now(), %s, id FROM journals",
            [cash.pk],
        )
    written = set(Receipt.objects.values_list("payer_name", flat=True))
    assert "" in written and len(written) > 5
    assert set(PayerName.objects.values_list("name", flat=True)) == written - {""}
    assert not PayerName.objects.filter(name="").exists()  # no name is not a name
    Receipt.objects.filter(pk=receipts["c"].pk).update(payer_name="Ravi Patel-Shah")
    assert numbers(ReceiptQuery(payer="patel-sh")) == [receipts["c"].number]


def test_the_search_page_explains_bad_input_and_lists_results(council_a, receipts, officer):
    client = host_client(council_a)
    client.login(email=officer.email, password=PASSWORD)
    bad = client.get("/receipts/", {"payer": "jo", "received_from": "31/02/2026"}).content.decode()
    assert "Enter at least 3 letters of the name." in bad
    assert "Enter a valid date." in bad
    page = client.get("/receipts/", {"reference": "5001*"}).content.decode()
    assert receipts["a"].number in page and receipts["c"].number not in page


def test_the_search_counts_its_receipts_up_to_a_cap(receipts):
    from income.receipt_search import count_receipts

    assert str(count_receipts(ReceiptQuery(payer="smith"))) == "3 receipts match"
    assert str(count_receipts(ReceiptQuery(payer="patel"))) == "1 receipt match"
    capped = count_receipts(ReceiptQuery(received_from=datetime.date(2026, 11, 1)), cap=2)
    assert (capped.count, capped.more, str(capped)) == (2, True, "More than 2 receipts match")


def test_the_first_page_and_its_count_agree_with_a_page_and_a_count_apart(
    receipts, council_tax, parking
):
    from income.receipt_search import count_receipts, first_page_and_count

    queries = [
        ReceiptQuery(payer="smith"),
        ReceiptQuery(fund=parking),
        ReceiptQuery(fund=council_tax, received_from=datetime.date(2026, 11, 2)),
        ReceiptQuery(reference="5001*"),
        ReceiptQuery(reference="nobody"),
        ReceiptQuery(received_from=datetime.date(2026, 11, 1)),
    ]
    for query in queries:
        for page_size, cap in ((50, 1000), (2, 1000), (1, 2)):
            page, cursor = search_receipts(query, page_size=page_size)
            together = first_page_and_count(query, page_size=page_size, cap=cap)
            assert together == (page, cursor, count_receipts(query, cap=cap)), query
    # The fund's receipts are found by its account's postings, not by the payer reference.
    page, _, count = first_page_and_count(ReceiptQuery(fund=parking))
    assert page == [receipts["d"], receipts["c"]] and str(count) == "2 receipts match"


def test_the_search_page_shows_the_count_and_downloads_its_receipts_as_csv(
    council_a, receipts, cash, card, council_tax, auditor
):
    import csv
    import io

    record_receipt(
        channel=cash, amount_pence=100, received_on=datetime.date(2026, 11, 5),
        allocations=[Allocation(council_tax, 100)], idempotency_key="search:formula",
        acting_user=None, payer_name="=cmd|' /C calc'!A0 Smith", payer_reference="+44",
    )  # fmt: skip
    client = host_client(council_a)
    client.login(email=auditor.email, password=PASSWORD)
    page = client.get("/receipts/", {"payer": "smith"}).content.decode()
    assert "4 receipts match" in page and "format=csv" in page
    response = client.get("/receipts/", {"payer": "smith", "format": "csv"})
    assert response["Content-Disposition"] == 'attachment; filename="receipts.csv"'
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["receipt", "received_on", "payer_reference"]
    assert [row[3] for row in rows[1:]] == [
        "'=cmd|' /C calc'!A0 Smith", "100% Smith_Ltd", "Ann O'Smith", "Jo Smithson",
    ]  # fmt: skip
    assert rows[1][2] == "'+44" and rows[1][5] == "1.00"
    assert rows[2][5] == "40.00"


def test_the_first_page_is_searched_without_parallel_workers(receipts, council_tax):
    from income.receipt_search import first_page_and_count

    page, _, count = first_page_and_count(ReceiptQuery(fund=council_tax))
    assert page and count.count == len(page)
    with connection.cursor() as cursor:
        # Set for the transaction it ran in: here the test's own.
        cursor.execute("SHOW max_parallel_workers_per_gather")
        assert cursor.fetchone()[0] == "0"
