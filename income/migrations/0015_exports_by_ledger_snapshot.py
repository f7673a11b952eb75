"""Exports by ledger snapshot instead of receipt by receipt.

Each posting now keeps the day it counts in the books (`booked_on`) and the id of the
transaction that wrote it (`xact_id`, with a BRIN index); each export run keeps the snapshot
its window closed at (income.exports.window). The per-receipt record of what went where
(`ExportedReceipt`, a row per receipt per target) goes: it made a million-receipt export
write a million rows.

Postings written before this migration get transaction id 0 and are booked on their
receipt's date (a receipt's own journal) or their journal's date. Every run made before it
gets the snapshot "1:1:", which holds exactly those postings: a target that had exported
before the upgrade counts all of them as sent, and one that never had sends them all with
its first run. (No council held live data when exports changed like this.)

A receipt's text is kept on one line from now on (income.text_fields); the receipts already
written are mended the same way here.
"""

import django.contrib.postgres.fields
import django.contrib.postgres.indexes
import django.db.models.deletion
from django.db import migrations, models

import income.models.database_defaults
from tenants.sql_statements import one_statement_each

POSTING_COLUMNS = """
ALTER TABLE income_posting ADD COLUMN booked_on date, ADD COLUMN xact_id bigint;
ALTER TABLE income_posting DISABLE TRIGGER income_posting_append_only;
UPDATE income_posting p SET xact_id = 0, booked_on = coalesce(
    (SELECT r.received_on FROM income_receipt r WHERE r.journal_id = p.journal_id),
    (SELECT (j.created_at AT TIME ZONE 'Europe/London')::date
     FROM income_journal j WHERE j.id = p.journal_id));
ALTER TABLE income_posting ENABLE TRIGGER income_posting_append_only;
ALTER TABLE income_posting
    ALTER COLUMN booked_on SET DEFAULT ((now() AT TIME ZONE 'Europe/London')::date),
    ALTER COLUMN booked_on SET NOT NULL,
    ALTER COLUMN xact_id SET DEFAULT (pg_current_xact_id()::text::bigint),
    ALTER COLUMN xact_id SET NOT NULL;
"""
POSTING_COLUMNS_BACK = "ALTER TABLE income_posting DROP COLUMN booked_on, DROP COLUMN xact_id;"

ONE_LINE_RECEIPTS = """
UPDATE income_receipt SET
    payer_reference = btrim(regexp_replace(payer_reference, '[[:cntrl:]]', ' ', 'g')),
    payer_name = btrim(regexp_replace(payer_name, '[[:cntrl:]]', ' ', 'g')),
    narrative = btrim(regexp_replace(narrative, '[[:cntrl:]]', ' ', 'g'))
WHERE payer_reference ~ '[[:cntrl:]]' OR payer_name ~ '[[:cntrl:]]' OR narrative ~ '[[:cntrl:]]';
"""

EARLIER_RUNS = """
UPDATE income_exportrun SET status = 'completed', finished_at = created_at,
    snapshot_xmin = 1, snapshot_xmax = 1, income_pence = greatest(total_pence, 0),
    outgoing_pence = greatest(-total_pence, 0);
"""


class Migration(migrations.Migration):
    dependencies = [("income", "0014_daily_exports")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    one_statement_each(POSTING_COLUMNS), one_statement_each(POSTING_COLUMNS_BACK)
                ),
            ],
            state_operations=[
                migrations.AddField(
                    model_name="posting",
                    name="booked_on",
                    field=models.DateField(
                        db_default=income.models.database_defaults.TodayInLondon()
                    ),
                ),
                migrations.AddField(
                    model_name="posting",
                    name="xact_id",
                    field=models.BigIntegerField(
                        db_default=income.models.database_defaults.CurrentTransactionId(),
                        editable=False,
                    ),
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="posting",
            index=django.contrib.postgres.indexes.BrinIndex(
                autosummarize=True, fields=["xact_id"], name="posting_xact_brin"
            ),
        ),
        migrations.RunSQL(one_statement_each(ONE_LINE_RECEIPTS), migrations.RunSQL.noop),
        migrations.DeleteModel(name="ExportedReceipt"),
        migrations.RemoveField(model_name="exportrun", name="receipt_count"),
        migrations.AddField(
            model_name="exportrun",
            name="status",
            field=models.CharField(
                choices=[
                    ("queued", "Waiting to start"),
                    ("running", "Being made"),
                    ("completed", "Made"),
                    ("failed", "Failed"),
                ],
                default="queued",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="exportrun", name="message", field=models.TextField(blank=True)
        ),
        migrations.AddField(
            model_name="exportrun",
            name="started_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="exportrun",
            name="finished_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="exportrun",
            name="previous",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="next",
                to="income.exportrun",
            ),
        ),
        migrations.AddField(
            model_name="exportrun",
            name="snapshot_xmin",
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="exportrun",
            name="snapshot_xmax",
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="exportrun",
            name="snapshot_xip",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.BigIntegerField(), blank=True, default=list, size=None
            ),
        ),
        migrations.AddField(
            model_name="exportrun",
            name="own_xact_id",
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="exportrun",
            name="own_last_posting_id",
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="exportrun",
            name="account_ids",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.BigIntegerField(), blank=True, default=list, size=None
            ),
        ),
        migrations.AddField(
            model_name="exportrun",
            name="first_posting_id",
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="exportrun",
            name="last_posting_id",
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="exportrun",
            name="income_pence",
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="exportrun",
            name="outgoing_pence",
            field=models.BigIntegerField(default=0),
        ),
        migrations.AlterField(
            model_name="exportrun",
            name="file_name",
            field=models.CharField(blank=True, max_length=255),
        ),
        migrations.AlterField(
            model_name="exportrun",
            name="sha256",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.RunSQL(one_statement_each(EARLIER_RUNS), migrations.RunSQL.noop),
        migrations.AddConstraint(
            model_name="exportrun",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status__in", ["queued", "running"])),
                fields=("target",),
                name="one_export_under_way_per_target",
            ),
        ),
    ]
