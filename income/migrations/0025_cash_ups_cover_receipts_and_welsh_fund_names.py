"""Several cash-ups a day: each covers the cash and cheque receipts no earlier one covered
(CashUpReceipt, one row per receipt, unique), instead of one cash-up per cashier and day.

Existing cash-ups covered their cashier's cash and cheque receipts of their day, so those
receipts are recorded as covered by them; a later receipt that day (which could never be cashed
up before) is left for the cashier's next cash-up.

Also: a fund's optional Welsh name; and a preset check-digit rule (Luhn, modulus 10 or 11)
stores the modulus it really runs with (it ignores the setting), so its page no longer says a
Luhn rule is "modulus 11"."""

import django.db.models.deletion
from django.db import migrations, models

import income.text_fields
from tenants.sql_statements import one_statement_each

# The SELECT is a materialized CTE: Citus plans an INSERT ... SELECT with a join into a table
# whose id comes from a sequence only when the SELECT is planned on its own (tenants.citus).
COVER_EXISTING_CASH_UPS = """
WITH covered AS MATERIALIZED (
  SELECT DISTINCT ON (receipt.id) cash_up.id AS cash_up_id, receipt.id AS receipt_id
  FROM income_cashup cash_up
  JOIN income_receipt receipt
    ON receipt.created_by_id = cash_up.cashier_id
   AND receipt.received_on = cash_up.business_date
   AND receipt.status = 'active'
  JOIN income_channel channel ON channel.id = receipt.channel_id
  WHERE cash_up.status <> 'rejected' AND channel.kind IN ('cash', 'cheque')
  ORDER BY receipt.id, cash_up.submitted_at
)
INSERT INTO income_cashupreceipt (cash_up_id, receipt_id)
SELECT cash_up_id, receipt_id FROM covered
"""
PRESETS_STORE_THEIR_MODULUS = """
UPDATE income_referencerule SET modulus = CASE check_digit_method WHEN 'mod11' THEN 11 ELSE 10 END
WHERE check_digit_method IN ('luhn', 'mod10', 'mod11')
"""


class Migration(migrations.Migration):
    dependencies = [
        ("income", "0024_unexplained_debits"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="cashup",
            name="one_standing_cash_up_per_cashier_day",
        ),
        migrations.AddField(
            model_name="cashup",
            name="submission_key",
            field=models.CharField(blank=True, max_length=100, null=True, unique=True),
        ),
        migrations.AddField(
            model_name="cashup",
            name="till",
            field=models.CharField(blank=True, max_length=100),
        ),
        migrations.CreateModel(
            name="CashUpReceipt",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "cash_up",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="covered",
                        to="income.cashup",
                    ),
                ),
                (
                    "receipt",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="cash_up_cover",
                        to="income.receipt",
                    ),
                ),
            ],
        ),
        migrations.RunSQL(one_statement_each(COVER_EXISTING_CASH_UPS), migrations.RunSQL.noop),
        migrations.AddField(
            model_name="fund",
            name="name_cy",
            field=models.CharField(
                blank=True,
                max_length=200,
                validators=[income.text_fields.validate_one_line],
                verbose_name="Name in Welsh",
            ),
        ),
        migrations.AlterField(
            model_name="referencerule",
            name="modulus",
            field=models.PositiveSmallIntegerField(
                default=11,
                help_text="For a weighted sum or Dynix; Luhn and the presets set their own",
            ),
        ),
        migrations.RunSQL(one_statement_each(PRESETS_STORE_THEIR_MODULUS), migrations.RunSQL.noop),
    ]
