"""Each line of a split payment keeps its own reference (issue 13, defects 1 and 6).

A payment of £100 to Council Tax (account 50000009) and £35.50 to Parking Fines (notice
PK1234567) is one receipt with one `payer_reference`; the Parking line used to be exported,
refunded and searched under the Council Tax account. Now:

- `Posting.reference` is the reference the posting's money is for, NULL meaning "the
  receipt's own payer_reference". NULL rather than always written, so that a million-line
  file import (one reference per line, already on the receipt) writes nothing more and stays
  as fast; only the lines that differ (a split's other funds, money moved to a new
  reference) carry one. The effective reference is defined once,
  `coalesce(p.reference, r.payer_reference)` (income.models.ledger: EFFECTIVE_REFERENCE_SQL
  and effective_reference()), and every screen, export, refund and search reads it.
- `Posting.reference_rule` is the fund's rule the reference passed when the money was placed
  (NULL: none checked). No constraint or index: rules are disabled, never deleted, and a
  constraint would be checked for every posting an import writes.
- A partial index over the postings that carry their own reference (upper, for exact and
  prefix search as receipt_reference_prefix serves payer_reference): no full index on
  postings, whose every insert would pay for it.
- `Refund.reference` is the line refunded; refunds raised before this were for the
  receipt's only reference, copied here.

`Receipt.payer_reference` stays the payer's main reference (the first line), for display.
"""

import django.db.models.deletion
from django.db import migrations, models

from tenants.sql_statements import one_statement_each

# Partial: the postings that carry the receipt's own reference (nearly all) are not in it.
# Upper and text_pattern_ops for exact and prefix search, as receipt_reference_prefix (0005).
OWN_REFERENCE_INDEX = """
CREATE INDEX posting_own_reference_prefix ON income_posting (upper(reference) text_pattern_ops)
    WHERE reference IS NOT NULL
"""
EARLIER_REFUNDS = """
UPDATE income_refund f SET reference = r.payer_reference
FROM income_receipt r WHERE r.id = f.receipt_id AND f.reference = ''
"""


class Migration(migrations.Migration):
    dependencies = [
        ("income", "0020_export_text_of_funds_on_one_line"),
    ]

    operations = [
        migrations.AddField(
            model_name="posting",
            name="reference",
            field=models.CharField(blank=True, max_length=50, null=True),
        ),
        migrations.AddField(
            model_name="posting",
            name="reference_rule",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="income.referencerule",
            ),
        ),
        migrations.AddField(
            model_name="refund",
            name="reference",
            field=models.CharField(blank=True, max_length=50),
        ),
        migrations.RunSQL(one_statement_each(EARLIER_REFUNDS), migrations.RunSQL.noop),
        migrations.RunSQL(
            one_statement_each(OWN_REFERENCE_INDEX),
            "DROP INDEX IF EXISTS posting_own_reference_prefix",
        ),
    ]
