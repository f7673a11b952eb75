"""Payer names kept once each (income.models.payer_name), for searches by part of a name.

- `income_payername` with a trigram index (0005's `income_trigrams`) over its names;
- receipts indexed on (payer_name, received_on DESC, id DESC), named ones only, so a name's
  receipts are read newest first from the index alone;
- after each INSERT into income_receipt, and each UPDATE (PostgreSQL allows no column list
  beside a transition table; a receipt's name is rarely changed), the statement's new names
  are added (one set-wise pass: a million-line import adds its few thousand names in
  one statement). As 0033's triggers, it reads its transition table in a query of its own,
  into an array, before it touches a table (Citus cannot join a transition table), and it
  runs with its council's schema as search path (0034);
- the names already there are copied in, and the trigram index over every receipt goes: the
  search no longer reads it, and each receipt written no longer pays for it.
"""

from django.db import migrations, models

from tenants.sql_statements import one_statement_each

FORWARD = """
CREATE INDEX payer_name_trigrams ON income_payername USING gin (income_trigrams(name));

CREATE INDEX receipt_payer_name_date ON income_receipt (payer_name, received_on DESC, id DESC)
    WHERE payer_name <> '';

CREATE OR REPLACE FUNCTION income_add_payer_names() RETURNS trigger AS $$
DECLARE
    names text[];
BEGIN
    SELECT array_agg(DISTINCT payer_name) INTO names FROM new_receipts WHERE payer_name <> '';
    IF names IS NOT NULL THEN
        INSERT INTO income_payername (name) SELECT unnest(names) ON CONFLICT (name) DO NOTHING;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION income_add_payer_names() SET search_path = %I, public',
                   current_schema());
END
$$;

CREATE TRIGGER income_receipt_payer_names AFTER INSERT ON income_receipt
    REFERENCING NEW TABLE AS new_receipts
    FOR EACH STATEMENT EXECUTE FUNCTION income_add_payer_names();

CREATE TRIGGER income_receipt_payer_names_changed AFTER UPDATE ON income_receipt
    REFERENCING NEW TABLE AS new_receipts
    FOR EACH STATEMENT EXECUTE FUNCTION income_add_payer_names();

INSERT INTO income_payername (name)
    SELECT DISTINCT payer_name FROM income_receipt WHERE payer_name <> ''
    ON CONFLICT (name) DO NOTHING;

DROP INDEX IF EXISTS receipt_payer_name_trigrams;
"""

BACKWARD = """
CREATE INDEX receipt_payer_name_trigrams ON income_receipt
    USING gin (income_trigrams(payer_name)) WHERE payer_name <> '';
DROP TRIGGER IF EXISTS income_receipt_payer_names_changed ON income_receipt;
DROP TRIGGER IF EXISTS income_receipt_payer_names ON income_receipt;
DROP FUNCTION IF EXISTS income_add_payer_names();
DROP INDEX IF EXISTS receipt_payer_name_date;
"""


class Migration(migrations.Migration):
    dependencies = [("income", "0035_search_tables_vacuumed_as_they_grow")]

    operations = [
        migrations.CreateModel(
            name="PayerName",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=200, unique=True)),
            ],
        ),
        migrations.RunSQL(one_statement_each(FORWARD), one_statement_each(BACKWARD)),
    ]
