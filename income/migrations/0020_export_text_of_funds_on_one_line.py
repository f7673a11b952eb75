"""A fund's name and ledger codes go into export files beside each payment: the forms (and
the configuration CSV, which goes through them) refuse them with a tab or line break, which
would break a file's one line per payment. Validators only; no change to the tables."""

from django.db import migrations, models

import income.text_fields


class Migration(migrations.Migration):
    dependencies = [
        ("income", "0019_named_payers_only_in_the_trigram_index"),
    ]

    operations = [
        migrations.AlterField(
            model_name="fund",
            name="cost_centre",
            field=models.CharField(
                blank=True, max_length=30, validators=[income.text_fields.validate_one_line]
            ),
        ),
        migrations.AlterField(
            model_name="fund",
            name="ledger_code",
            field=models.CharField(
                blank=True, max_length=30, validators=[income.text_fields.validate_one_line]
            ),
        ),
        migrations.AlterField(
            model_name="fund",
            name="name",
            field=models.CharField(
                max_length=200, validators=[income.text_fields.validate_one_line]
            ),
        ),
        migrations.AlterField(
            model_name="fund",
            name="subjective",
            field=models.CharField(
                blank=True, max_length=30, validators=[income.text_fields.validate_one_line]
            ),
        ),
    ]
