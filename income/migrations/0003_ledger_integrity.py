"""The ledger's rules, held by the database itself.

- Journals and postings are append-only: UPDATE, DELETE and TRUNCATE are refused.
- Every journal balances: after each INSERT statement into postings, every journal it touched
  must sum to zero over all its postings. So a journal's postings are written in one statement
  (which `income.actions.ledger.post_journal` and the bulk importers do); a later statement can
  never add to, or unbalance, a journal.
- Receipt numbers come from a sequence.
"""

from django.db import migrations

from tenants.sql_statements import one_statement_each

FORWARD = """
CREATE OR REPLACE FUNCTION income_refuse_ledger_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % refused on %; post a reversing journal',
        TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER income_posting_append_only BEFORE UPDATE OR DELETE ON income_posting
    FOR EACH ROW EXECUTE FUNCTION income_refuse_ledger_change();
CREATE TRIGGER income_posting_no_truncate BEFORE TRUNCATE ON income_posting
    FOR EACH STATEMENT EXECUTE FUNCTION income_refuse_ledger_change();
CREATE TRIGGER income_journal_append_only BEFORE UPDATE OR DELETE ON income_journal
    FOR EACH ROW EXECUTE FUNCTION income_refuse_ledger_change();
CREATE TRIGGER income_journal_no_truncate BEFORE TRUNCATE ON income_journal
    FOR EACH STATEMENT EXECUTE FUNCTION income_refuse_ledger_change();

CREATE OR REPLACE FUNCTION income_check_journals_balance() RETURNS trigger AS $$
DECLARE
    unbalanced record;
BEGIN
    SELECT p.journal_id, sum(p.amount_pence) AS total INTO unbalanced
    FROM income_posting p
    WHERE p.journal_id IN (SELECT DISTINCT journal_id FROM new_postings)
    GROUP BY p.journal_id
    HAVING sum(p.amount_pence) <> 0
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'journal % does not balance: its postings sum to % pence',
            unbalanced.journal_id, unbalanced.total USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER income_posting_journals_balance AFTER INSERT ON income_posting
    REFERENCING NEW TABLE AS new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION income_check_journals_balance();

CREATE SEQUENCE income_receipt_number_seq START 100001;
"""

BACKWARD = """
DROP TRIGGER IF EXISTS income_posting_journals_balance ON income_posting;
DROP FUNCTION IF EXISTS income_check_journals_balance();
DROP TRIGGER IF EXISTS income_posting_append_only ON income_posting;
DROP TRIGGER IF EXISTS income_posting_no_truncate ON income_posting;
DROP TRIGGER IF EXISTS income_journal_append_only ON income_journal;
DROP TRIGGER IF EXISTS income_journal_no_truncate ON income_journal;
DROP FUNCTION IF EXISTS income_refuse_ledger_change();
DROP SEQUENCE IF EXISTS income_receipt_number_seq;
"""


class Migration(migrations.Migration):
    dependencies = [("income", "0002_ledger_funds_receipts_refunds_cash_up")]

    operations = [migrations.RunSQL(one_statement_each(FORWARD), one_statement_each(BACKWARD))]
