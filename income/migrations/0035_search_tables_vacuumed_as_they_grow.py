"""Receipts and postings are vacuumed every 20,000 inserted rows, not every 20% of the table.

A search reads receipts and their postings by index alone (an index-only scan) only where the
table's visibility map says a page holds no unvacuumed change. PostgreSQL's default vacuums an
insert-only table after 20% of it is new: at five million receipts, a million inserts, months
of a council's takings, in which every recent page is read from the heap as well. A fund's
month of receipts took 83 ms that way at 5M receipts and 20 ms with the map current. Vacuuming
a mostly-frozen table skips every page the map marks, so the frequent runs cost little.
"""

from django.db import migrations

TABLES = ("income_receipt", "income_posting")
SETTINGS = "autovacuum_vacuum_insert_threshold = 20000, autovacuum_vacuum_insert_scale_factor = 0"
NAMES = "autovacuum_vacuum_insert_threshold, autovacuum_vacuum_insert_scale_factor"


class Migration(migrations.Migration):
    dependencies = [("income", "0034_trigger_functions_carry_their_schema")]

    operations = [
        migrations.RunSQL(
            f"ALTER TABLE {table} SET ({SETTINGS})", f"ALTER TABLE {table} RESET ({NAMES})"
        )
        for table in TABLES
    ]
