"""A cheaper, equally strict balance check for very large statements (a 1,000,000-line import).

The first version summed every posting of every journal a statement touched, joining the
statement's transition table (which has no statistics) to the whole posting table: fine for a
counter receipt, ruinous for a million-row load. The rule it enforces is the same here:

- the postings a statement inserts sum to zero per journal (checked on the statement's own
  rows, a hash aggregate over the transition table); and
- a statement may not add postings to a journal that already had some (one index probe per
  journal on posting.journal_id, looking for an older posting id),

which together mean every journal's postings, written in one statement, sum to zero.
"""

from django.db import migrations

from tenants.sql_statements import one_statement_each

FORWARD = """
CREATE OR REPLACE FUNCTION income_check_journals_balance() RETURNS trigger AS $$
DECLARE
    unbalanced record;
    first_new_id bigint;
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
    SELECT min(id) INTO first_new_id FROM new_postings;
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
"""

BACKWARD = """
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
"""


class Migration(migrations.Migration):
    dependencies = [("income", "0005_receipt_search_indexes")]

    operations = [migrations.RunSQL(one_statement_each(FORWARD), one_statement_each(BACKWARD))]
