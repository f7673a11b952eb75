"""Issue 13, money you can trust: a line an earlier import brought in is held as a possible
duplicate (asking only of the channels' days an earlier import brought lines in for,
income_importedday); the same file is known whatever its line endings (content_sha256) and the same
bank statement whatever its creation time (statement_id); a reversed import no longer blocks
its file. Existing imports keep their digest as their content's (what they were compared by)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("income", "0021_line_references"),
    ]

    operations = [
        migrations.CreateModel(
            name="PossibleDuplicate",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("line_number", models.PositiveIntegerField()),
                ("amount_pence", models.BigIntegerField()),
                ("received_on", models.DateField()),
                ("reference", models.CharField(blank=True, max_length=50)),
                ("narrative", models.CharField(blank=True, max_length=300)),
                ("payer_name", models.CharField(blank=True, max_length=200)),
                ("line_key", models.CharField(max_length=200)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("held", "Waiting for a decision"),
                            ("released", "Released"),
                            ("discarded", "Discarded"),
                        ],
                        default="held",
                        max_length=20,
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("decided_at", models.DateTimeField(blank=True, null=True)),
                ("decided_by_id", models.BigIntegerField(blank=True, null=True)),
                ("decided_by_email", models.CharField(blank=True, max_length=254)),
                ("reason", models.TextField(blank=True)),
            ],
            options={
                "ordering": ["batch", "line_number"],
            },
        ),
        migrations.AddField(
            model_name="receipt",
            name="import_line_number",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.RemoveConstraint(
            model_name="importbatch",
            name="a_file_is_imported_once",
        ),
        migrations.AddField(
            model_name="importbatch",
            name="content_sha256",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name="importbatch",
            name="duplicates_count",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="importbatch",
            name="duplicates_pence",
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="importbatch",
            name="statement_id",
            field=models.CharField(blank=True, max_length=300),
        ),
        migrations.RunSQL(
            "UPDATE income_importbatch SET content_sha256 = sha256 WHERE content_sha256 = ''",
            migrations.RunSQL.noop,
        ),
        migrations.AddConstraint(
            model_name="importbatch",
            constraint=models.UniqueConstraint(
                condition=models.Q(
                    ("status__in", ["refused", "failed", "reversed"]), _negated=True
                ),
                fields=("content_sha256",),
                name="a_file_is_imported_once",
            ),
        ),
        migrations.AddConstraint(
            model_name="importbatch",
            constraint=models.UniqueConstraint(
                condition=models.Q(
                    models.Q(("statement_id", ""), _negated=True),
                    models.Q(("status__in", ["refused", "failed", "reversed"]), _negated=True),
                ),
                fields=("statement_id",),
                name="a_statement_is_imported_once",
            ),
        ),
        migrations.AddField(
            model_name="possibleduplicate",
            name="batch",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="possible_duplicates",
                to="income.importbatch",
            ),
        ),
        migrations.AddField(
            model_name="possibleduplicate",
            name="channel",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="+", to="income.channel"
            ),
        ),
        migrations.AddField(
            model_name="possibleduplicate",
            name="earlier_receipt",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="income.receipt",
            ),
        ),
        migrations.AddField(
            model_name="possibleduplicate",
            name="receipt",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="income.receipt",
            ),
        ),
        migrations.AddIndex(
            model_name="possibleduplicate",
            index=models.Index(fields=["status", "batch"], name="income_poss_status_6ef0f8_idx"),
        ),
        migrations.AddConstraint(
            model_name="possibleduplicate",
            constraint=models.UniqueConstraint(
                fields=("batch", "line_number"), name="a_line_is_held_once_per_import"
            ),
        ),
        migrations.CreateModel(
            name="ImportedDay",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("channel_code", models.CharField(max_length=20)),
                ("received_on", models.DateField()),
                ("first_batch_id", models.BigIntegerField()),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("channel_code", "received_on"), name="one_row_per_imported_day"
                    )
                ],
            },
        ),
    ]
