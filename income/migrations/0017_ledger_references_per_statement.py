"""The ledger's references (a posting's journal, account and receipt; a receipt's journal
and channel) checked once per statement instead of row by row at commit.

As foreign keys (Django makes them DEFERRABLE INITIALLY DEFERRED) each row's references were
checked at commit, each check an index probe and a lock on the row named: for a million-line
import some eight million checks, longer than writing the rows. The same rule is held here
by statement-level triggers over the statement's transition table (as 0006's balance check
reads):

- after each INSERT into income_posting or income_receipt, every row it names must exist,
  or the statement fails with foreign_key_violation, as the constraint would have. When
  every id between the lowest and the highest named is there (one range count; an import's
  consecutive ids), every id named is; only otherwise (or when the range is wider than the
  rows naming it are many) are the named ids looked up one by one.
  A receipt whose journal or channel is changed is checked the same way, row by row.
- a row once named never goes: journals were already append-only (0003); receipts,
  accounts and channels now refuse DELETE and TRUNCATE, and a change of their id. Receipts
  are corrected by reversal, accounts are the ledger's own and channels are disabled, so
  none was ever deleted; refusing every DELETE, rather than only of rows something names, is
  what keeps this true under concurrency (a DELETE racing an uncommitted posting would see
  nothing naming its row).

Postings keep four indexes of six: the primary key; (journal_id, id) in place of
journal_id, so the balance check can ask "has any of these journals an older posting?" of
the index alone; posting_receipt_account (receipt_id, account_id), which made receipt_id's
own index redundant (made in SQL by 0005, it enters Django's model state here); and
account_id in place of (account_id, journal_id), which made it redundant the other way
round: no query reads an account's postings in journal order (balances, suspense, exports
and the dashboard all filter on account_id alone), and the single column, deduplicated, is
the cheaper to keep up.
"""

from importlib import import_module

import django.db.models.deletion
from django.db import migrations, models

from tenants.sql_statements import one_statement_each

migration_0006 = import_module("income.migrations.0006_balance_check_per_statement")


def _all_named_exist(table: str, column: str, transition: str) -> str:
    """PL/pgSQL: raise unless every `column` of `transition` names a row of `table`, given
    the lowest and highest named and how many rows name one, in the variables
    `<column>_low`, `<column>_high` and `<column>_rows`. Only this module's own names go in.

    The range is counted only when it is no wider than the rows naming it are many: so the
    count never reads more than looking each named id up would (two far-apart ids are two
    lookups, not a count of everything between them)."""
    low, high, rows = f"{column}_low", f"{column}_high", f"{column}_rows"
    return f"""
    IF {low} IS NOT NULL THEN
        all_there := false;
        IF {high} - {low} < {rows} THEN
            all_there := (SELECT count(*) FROM {table} WHERE id BETWEEN {low} AND {high})
                = {high} - {low} + 1;
        END IF;
        IF NOT all_there THEN
            SELECT n.{column} INTO missing
            FROM (SELECT DISTINCT {column} FROM {transition} WHERE {column} IS NOT NULL) AS n
            WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE t.id = n.{column})
            LIMIT 1;
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

CREATE TRIGGER income_posting_references AFTER INSERT ON income_posting
    REFERENCING NEW TABLE AS new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION income_check_posting_references();

CREATE OR REPLACE FUNCTION income_check_receipt_references() RETURNS trigger AS $$
DECLARE
    missing bigint;
    all_there boolean;
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

CREATE TRIGGER income_receipt_references AFTER INSERT ON income_receipt
    REFERENCING NEW TABLE AS new_receipts
    FOR EACH STATEMENT EXECUTE FUNCTION income_check_receipt_references();

CREATE OR REPLACE FUNCTION income_check_changed_receipt_references() RETURNS trigger AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM income_journal WHERE id = NEW.journal_id) THEN
        RAISE EXCEPTION 'receipt % names journal_id %, which does not exist',
            NEW.id, NEW.journal_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM income_channel WHERE id = NEW.channel_id) THEN
        RAISE EXCEPTION 'receipt % names channel_id %, which does not exist',
            NEW.id, NEW.channel_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER income_receipt_references_changed BEFORE UPDATE OF journal_id, channel_id
    ON income_receipt FOR EACH ROW
    WHEN (OLD.journal_id IS DISTINCT FROM NEW.journal_id
        OR OLD.channel_id IS DISTINCT FROM NEW.channel_id)
    EXECUTE FUNCTION income_check_changed_receipt_references();

-- 0006's balance check, with one range probe first: when no older posting names any
-- journal between the statement's lowest and highest (an index range on (journal_id, id),
-- no row read), none of the statement's journals has older postings, and there is no
-- probe per journal. Only when the range is no wider than the statement is long, so the
-- probe never reads more of the index than the probes per journal would.
CREATE OR REPLACE FUNCTION income_check_journals_balance() RETURNS trigger AS $$
DECLARE
    unbalanced record;
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
    SELECT n.journal_id INTO unbalanced
    FROM (SELECT DISTINCT journal_id FROM new_postings) AS n
    WHERE EXISTS (
        SELECT 1 FROM income_posting p
        WHERE p.journal_id = n.journal_id AND p.id < first_new_id
    )
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'journal % already has its postings; post a new journal instead',
            unbalanced.journal_id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION income_keep_named_rows() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% refused on %: the ledger names its rows, so they are kept',
        TG_OP, TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
"""  # noqa: S608

KEPT_TABLES = ("income_receipt", "income_account", "income_channel")
for _table in KEPT_TABLES:
    FORWARD += f"""
CREATE TRIGGER {_table}_kept BEFORE DELETE ON {_table}
    FOR EACH ROW EXECUTE FUNCTION income_keep_named_rows();
CREATE TRIGGER {_table}_id_kept BEFORE UPDATE OF id ON {_table}
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION income_keep_named_rows();
CREATE TRIGGER {_table}_no_truncate BEFORE TRUNCATE ON {_table}
    FOR EACH STATEMENT EXECUTE FUNCTION income_keep_named_rows();
"""

BACKWARD = "".join(
    f"DROP TRIGGER IF EXISTS {_table}{suffix} ON {_table};\n"
    for _table in KEPT_TABLES
    for suffix in ("_kept", "_id_kept", "_no_truncate")
)
BACKWARD += """
DROP FUNCTION IF EXISTS income_keep_named_rows();
DROP TRIGGER IF EXISTS income_posting_references ON income_posting;
DROP FUNCTION IF EXISTS income_check_posting_references();
DROP TRIGGER IF EXISTS income_receipt_references ON income_receipt;
DROP FUNCTION IF EXISTS income_check_receipt_references();
DROP TRIGGER IF EXISTS income_receipt_references_changed ON income_receipt;
DROP FUNCTION IF EXISTS income_check_changed_receipt_references();
"""
BACKWARD += migration_0006.FORWARD  # the balance check as 0006 left it


def _reference(to: str, related_name: str, **options) -> models.ForeignKey:
    field = models.OneToOneField if options.pop("one_to_one", False) else models.ForeignKey
    return field(
        db_constraint=False,
        on_delete=django.db.models.deletion.PROTECT,
        related_name=related_name,
        to=to,
        **options,
    )


class Migration(migrations.Migration):
    # After 0016 (and so 0015, which gave each posting its transaction id and booked day:
    # columns this leaves alone).
    dependencies = [("income", "0016_govuk_pay_fees_and_payouts")]

    operations = [
        migrations.AddIndex(
            model_name="posting",
            index=models.Index(fields=["journal", "id"], name="posting_journal_id"),
        ),
        migrations.AddIndex(
            model_name="posting",
            index=models.Index(fields=["account"], name="posting_account_id"),
        ),
        migrations.RemoveIndex(model_name="posting", name="income_post_account_b62a6a_idx"),
        migrations.AlterField(
            model_name="posting",
            name="journal",
            field=_reference("income.journal", "postings", db_index=False),
        ),
        migrations.AlterField(
            model_name="posting",
            name="account",
            field=_reference("income.account", "postings", db_index=False),
        ),
        migrations.AlterField(
            model_name="posting",
            name="receipt",
            field=_reference("income.receipt", "postings", db_index=False, null=True, blank=True),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(
                    model_name="posting",
                    index=models.Index(
                        fields=["receipt", "account"], name="posting_receipt_account"
                    ),
                )
            ]
        ),
        migrations.AlterField(
            model_name="receipt",
            name="channel",
            field=_reference("income.channel", "receipts"),
        ),
        migrations.AlterField(
            model_name="receipt",
            name="journal",
            field=_reference("income.journal", "receipt_recorded", one_to_one=True),
        ),
        migrations.RunSQL(one_statement_each(FORWARD), one_statement_each(BACKWARD)),
    ]
