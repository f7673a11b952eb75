"""Indexes for receipt search at millions of receipts.

Name fragments use trigrams without the pg_trgm extension (not every server, e.g. the
embedded one, ships it): `income_trigrams(text)` returns a text's trigrams as an array, and a
GIN index over that array answers "contains all these trigrams" (`@>`); the ILIKE that
follows only re-checks the few rows the index found.
"""

from django.db import migrations

from tenants.sql_statements import one_statement_each

TRIGRAMS = """
CREATE OR REPLACE FUNCTION income_trigrams(value text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT coalesce(array_agg(DISTINCT substr(padded, i, 3)), '{}')
    FROM (SELECT '  ' || lower(value) || ' ' AS padded) AS p,
         generate_series(1, greatest(length(padded) - 2, 0)) AS i
$$;

-- The trigrams a fragment must contain: only those wholly inside it (no padding), since the
-- fragment may sit anywhere in the name.
CREATE OR REPLACE FUNCTION income_fragment_trigrams(value text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT coalesce(array_agg(DISTINCT substr(lower(value), i, 3)), '{}')
    FROM generate_series(1, greatest(length(value) - 2, 0)) AS i
$$;

CREATE INDEX receipt_payer_name_trigrams ON income_receipt
    USING gin (income_trigrams(payer_name));
CREATE INDEX receipt_reference_prefix ON income_receipt
    (upper(payer_reference) text_pattern_ops);
CREATE INDEX receipt_amount_date ON income_receipt (amount_pence, received_on);
CREATE INDEX receipt_date_id ON income_receipt (received_on DESC, id DESC);
CREATE INDEX posting_receipt_account ON income_posting (receipt_id, account_id);
DROP INDEX IF EXISTS receipt_reference_upper;
DROP INDEX IF EXISTS receipt_date_amount;
"""

UNDO = """
DROP INDEX IF EXISTS receipt_payer_name_trigrams;
DROP INDEX IF EXISTS receipt_reference_prefix;
DROP INDEX IF EXISTS receipt_amount_date;
DROP INDEX IF EXISTS receipt_date_id;
DROP INDEX IF EXISTS posting_receipt_account;
DROP FUNCTION IF EXISTS income_trigrams(text);
DROP FUNCTION IF EXISTS income_fragment_trigrams(text);
CREATE INDEX receipt_reference_upper ON income_receipt (upper(payer_reference));
CREATE INDEX receipt_date_amount ON income_receipt (received_on, amount_pence);
"""


class Migration(migrations.Migration):
    dependencies = [("income", "0004_fund_group_access")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(one_statement_each(TRIGRAMS), one_statement_each(UNDO))
            ],
            state_operations=[
                migrations.RemoveIndex(model_name="receipt", name="receipt_reference_upper"),
                migrations.RemoveIndex(model_name="receipt", name="receipt_date_amount"),
            ],
        )
    ]
