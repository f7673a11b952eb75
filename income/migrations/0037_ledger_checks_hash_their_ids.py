"""Cheaper ledger checks for large statements (a million-line import), the same rules.

- The reference checks (0033) gather the ids a statement names, when their range is not
  whole, by grouping (a hash) rather than `array_agg(DISTINCT ...)` (a sort of every row: an
  import's 100,000 postings sorted by account per chunk). The ids not held are found by
  EXCEPT over the two arrays (a hash) rather than `n <> ALL (held)`, which compared every id
  named with every id held: with a gap in a chunk's journal ids (another session's journal
  taken between the import's), 10^10 comparisons for 100,000 receipts. Both queries still
  read only arrays or only the transition table, as Citus needs (0033).
- A journal's `reverses_id` is checked by a row trigger that fires only for a journal that
  reverses one (`WHEN NEW.reverses_id IS NOT NULL`), instead of the deferred foreign key,
  which queued a check for every journal inserted and ran each at commit (a million for a
  million-line import, all but a handful on NULL). The journal reversed must exist when the
  statement ends; journals are append-only (0003), so it never goes afterwards.
"""

from importlib import import_module

import django.db.models.deletion
from django.db import migrations, models

from tenants.sql_statements import one_statement_each

migration_0033 = import_module(
    "income.migrations.0033_ledger_triggers_read_transition_tables_alone"
)
migration_0034 = import_module("income.migrations.0034_trigger_functions_carry_their_schema")


def _all_named_exist(table: str, column: str, transition: str) -> str:
    """PL/pgSQL: as 0033's check (every `column` of `transition` names a row of `table`)."""
    low, high, rows = f"{column}_low", f"{column}_high", f"{column}_rows"
    return f"""
    IF {low} IS NOT NULL THEN
        all_there := false;
        IF {high} - {low} < {rows} THEN
            all_there := (SELECT count(*) FROM {table} WHERE id BETWEEN {low} AND {high})
                = {high} - {low} + 1;
        END IF;
        IF NOT all_there THEN
            SELECT array_agg({column}) INTO named
            FROM (SELECT {column} FROM {transition} WHERE {column} IS NOT NULL
                  GROUP BY {column}) AS distinct_named;
            SELECT array_agg(id) INTO held FROM {table} WHERE id = ANY (named);
            SELECT n INTO missing
            FROM (SELECT unnest(named) AS n EXCEPT SELECT unnest(held)) AS not_held
            ORDER BY n LIMIT 1;
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

CREATE OR REPLACE FUNCTION income_check_reversed_journal() RETURNS trigger AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM income_journal WHERE id = NEW.reverses_id) THEN
        RAISE EXCEPTION 'journal % reverses journal %, which does not exist',
            NEW.id, NEW.reverses_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER income_journal_reverses AFTER INSERT ON income_journal FOR EACH ROW
    WHEN (NEW.reverses_id IS NOT NULL)
    EXECUTE FUNCTION income_check_reversed_journal();

DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION income_check_posting_references() SET search_path = %I, public',
                   current_schema());
    EXECUTE format('ALTER FUNCTION income_check_receipt_references() SET search_path = %I, public',
                   current_schema());
    EXECUTE format('ALTER FUNCTION income_check_reversed_journal() SET search_path = %I, public',
                   current_schema());
END
$$;
"""  # noqa: S608

BACKWARD = """
DROP TRIGGER IF EXISTS income_journal_reverses ON income_journal;
DROP FUNCTION IF EXISTS income_check_reversed_journal();
"""
# The checks as 0033 left them, each with its schema again (0034).
BACKWARD += migration_0033.FORWARD + ";\n" + migration_0034.CARRY_SCHEMA


class Migration(migrations.Migration):
    dependencies = [("income", "0036_payer_names")]

    operations = [
        migrations.AlterField(
            model_name="journal",
            name="reverses",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="reversed_by",
                to="income.journal",
            ),
        ),
        migrations.RunSQL(one_statement_each(FORWARD), one_statement_each(BACKWARD)),
    ]
