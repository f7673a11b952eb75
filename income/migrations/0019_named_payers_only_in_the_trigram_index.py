"""The payer-name trigram index holds only receipts with a payer's name.

Most payment files carry no name (allpay, BACS, most bank lines), and a fragment of a name
never matches an empty one, so those receipts gave the index nothing to find; yet each paid
for the trigram function and an index entry (a million-line allpay import spent some four
seconds on them). Searches by name add the index's condition (income.receipt_search).
"""

from django.db import migrations

from tenants.sql_statements import one_statement_each

FORWARD = """
DROP INDEX IF EXISTS receipt_payer_name_trigrams;
CREATE INDEX receipt_payer_name_trigrams ON income_receipt
    USING gin (income_trigrams(payer_name)) WHERE payer_name <> '';
"""
BACKWARD = """
DROP INDEX IF EXISTS receipt_payer_name_trigrams;
CREATE INDEX receipt_payer_name_trigrams ON income_receipt
    USING gin (income_trigrams(payer_name));
"""


class Migration(migrations.Migration):
    dependencies = [("income", "0018_fewer_ledger_indexes")]

    operations = [migrations.RunSQL(one_statement_each(FORWARD), one_statement_each(BACKWARD))]
