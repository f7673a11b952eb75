"""The ledger's statement triggers read their transition tables in queries of their own.

On Citus a council's tables are distributed (in the council's distributed schema), and a
query that reads a transition table (new_postings...) together with a council table, or that
inserts from one into a council table, is handed to Citus's executor, which cannot see the
trigger's transition tables ("could not find named tuplestore"). So each trigger first reads
what it needs from its transition table into arrays (a query on the transition table alone,
which PostgreSQL runs in place), then asks the council tables about those arrays. The checks
and totals are the same on plain PostgreSQL.
"""

from django.db import migrations

from tenants.sql_statements import one_statement_each


def _all_named_exist(table: str, column: str, transition: str) -> str:
    """PL/pgSQL: as 0017's check (every `column` of `transition` names a row of `table`), with
    the ids named gathered into an array before the table is asked which of them it holds."""
    low, high, rows = f"{column}_low", f"{column}_high", f"{column}_rows"
    return f"""
    IF {low} IS NOT NULL THEN
        all_there := false;
        IF {high} - {low} < {rows} THEN
            all_there := (SELECT count(*) FROM {table} WHERE id BETWEEN {low} AND {high})
                = {high} - {low} + 1;
        END IF;
        IF NOT all_there THEN
            SELECT array_agg(DISTINCT {column}) INTO named
            FROM {transition} WHERE {column} IS NOT NULL;
            SELECT array_agg(id) INTO held FROM {table} WHERE id = ANY (named);
            SELECT n INTO missing FROM unnest(named) AS n
            WHERE n <> ALL (coalesce(held, '{{}}'::bigint[])) LIMIT 1;
            IF FOUND THEN
                RAISE EXCEPTION 'a row inserted into % names {column} %, which {table} does not hold',
                    TG_TABLE_NAME, missing USING ERRCODE = 'foreign_key_violation';
            END IF;
        END IF;
    END IF;"""  # noqa: S608


FORWARD = f"""
CREATE OR REPLACE FUNCTION income_check_posting_references() RETURNS trigger AS $$
DECLARE
    missing bigint;
    all_there boolean;
    named bigint[];
    held bigint[];
    journal_id_low bigint;
    journal_id_high bigint;
    journal_id_rows bigint;
    receipt_id_low bigint;
    receipt_id_high bigint;
    receipt_id_rows bigint;
    account_id_low bigint;
    account_id_high bigint;
    account_id_rows bigint;
BEGIN
    SELECT min(journal_id), max(journal_id), count(journal_id),
        min(receipt_id), max(receipt_id), count(receipt_id),
        min(account_id), max(account_id), count(account_id)
    INTO journal_id_low, journal_id_high, journal_id_rows,
        receipt_id_low, receipt_id_high, receipt_id_rows,
        account_id_low, account_id_high, account_id_rows
    FROM new_postings;
    {_all_named_exist("income_journal", "journal_id", "new_postings")}
    {_all_named_exist("income_receipt", "receipt_id", "new_postings")}
    {_all_named_exist("income_account", "account_id", "new_postings")}
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION income_check_receipt_references() RETURNS trigger AS $$
DECLARE
    missing bigint;
    all_there boolean;
    named bigint[];
    held bigint[];
    journal_id_low bigint;
    journal_id_high bigint;
    journal_id_rows bigint;
    channel_id_low bigint;
    channel_id_high bigint;
    channel_id_rows bigint;
BEGIN
    SELECT min(journal_id), max(journal_id), count(journal_id),
        min(channel_id), max(channel_id), count(channel_id)
    INTO journal_id_low, journal_id_high, journal_id_rows,
        channel_id_low, channel_id_high, channel_id_rows
    FROM new_receipts;
    {_all_named_exist("income_journal", "journal_id", "new_receipts")}
    {_all_named_exist("income_channel", "channel_id", "new_receipts")}
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION income_check_journals_balance() RETURNS trigger AS $$
DECLARE
    unbalanced record;
    older_journal bigint;
    journals bigint[];
    first_new_id bigint;
    journal_low bigint;
    journal_high bigint;
    new_rows bigint;
    none_older boolean;
BEGIN
    SELECT journal_id, sum(amount_pence) AS total INTO unbalanced
    FROM new_postings
    GROUP BY journal_id
    HAVING sum(amount_pence) <> 0
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'journal % does not balance: its postings sum to % pence',
            unbalanced.journal_id, unbalanced.total USING ERRCODE = 'check_violation';
    END IF;
    SELECT min(id), min(journal_id), max(journal_id), count(*)
    INTO first_new_id, journal_low, journal_high, new_rows
    FROM new_postings;
    IF journal_high - journal_low < new_rows THEN
        none_older := NOT EXISTS (
            SELECT 1 FROM income_posting p
            WHERE p.journal_id BETWEEN journal_low AND journal_high AND p.id < first_new_id
        );
        IF none_older THEN
            RETURN NULL;
        END IF;
    END IF;
    SELECT array_agg(DISTINCT journal_id) INTO journals FROM new_postings;
    SELECT p.journal_id INTO older_journal
    FROM income_posting p
    WHERE p.journal_id = ANY (journals) AND p.id < first_new_id
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'journal % already has its postings; post a new journal instead',
            older_journal USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION income_add_daily_account_totals() RETURNS trigger AS $$
DECLARE
    days date[];
    accounts bigint[];
    sums bigint[];
    credits bigint[];
BEGIN
    SELECT array_agg(booked_on), array_agg(account_id), array_agg(pence), array_agg(receipts)
    INTO days, accounts, sums, credits
    FROM (
        SELECT booked_on, account_id, sum(amount_pence) AS pence,
            count(*) FILTER (WHERE amount_pence < 0 AND receipt_id IS NOT NULL) AS receipts
        FROM new_postings
        GROUP BY booked_on, account_id
    ) AS totals;
    INSERT INTO income_dailyaccounttotal (booked_on, account_id, pence, receipt_credits)
    SELECT * FROM unnest(days, accounts, sums, credits);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION income_add_daily_channel_takings() RETURNS trigger AS $$
DECLARE
    days date[];
    channels bigint[];
    counts bigint[];
    sums bigint[];
BEGIN
    SELECT array_agg(received_on), array_agg(channel_id), array_agg(receipts), array_agg(pence)
    INTO days, channels, counts, sums
    FROM (
        SELECT received_on, channel_id, count(*) AS receipts, sum(amount_pence) AS pence
        FROM new_receipts
        WHERE status = 'active'
        GROUP BY received_on, channel_id
    ) AS takings;
    INSERT INTO income_dailychanneltakings (received_on, channel_id, receipts, pence)
    SELECT * FROM unnest(days, channels, counts, sums);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION income_change_daily_channel_takings() RETURNS trigger AS $$
DECLARE
    days date[];
    channels bigint[];
    counts bigint[];
    sums bigint[];
BEGIN
    SELECT array_agg(received_on), array_agg(channel_id), array_agg(receipts), array_agg(pence)
    INTO days, channels, counts, sums
    FROM (
        SELECT received_on, channel_id, sum(sign) AS receipts, sum(sign * amount_pence) AS pence
        FROM (
            SELECT received_on, channel_id, -1 AS sign, amount_pence
            FROM old_receipts WHERE status = 'active'
            UNION ALL
            SELECT received_on, channel_id, 1, amount_pence
            FROM new_receipts WHERE status = 'active'
        ) AS change
        GROUP BY received_on, channel_id
        HAVING sum(sign) <> 0 OR sum(sign * amount_pence) <> 0
    ) AS takings;
    INSERT INTO income_dailychanneltakings (received_on, channel_id, receipts, pence)
    SELECT * FROM unnest(days, channels, counts, sums);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""  # noqa: S608


class Migration(migrations.Migration):
    dependencies = [("income", "0032_api_clients")]

    operations = [
        migrations.RunSQL(one_statement_each(FORWARD), migrations.RunSQL.noop),
    ]
