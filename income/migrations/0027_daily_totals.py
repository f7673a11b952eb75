"""Each day's totals kept as the ledger is written (income.models.daily_totals): the dashboard
read millions of postings (its fund query alone took 1.6 s at a million receipts).

- After each INSERT statement into income_posting, one row per (booked day, account) of the
  statement: the sum, and how many credits named a receipt. One hash aggregate over the
  statement's transition table, however many rows it holds.
- After each INSERT into income_receipt, one row per (received day, channel) of the active
  receipts; after each UPDATE, the difference between the old and new rows' active receipts
  (a reversal takes its receipt out; an update that changes neither status, day, channel
  nor amount adds nothing). Subtracting every old row and adding every new one needs no
  join of the two transition tables.
- Both tables are filled from what is already there.
"""

from django.db import migrations, models

from tenants.sql_statements import one_statement_each

FORWARD = """
CREATE OR REPLACE FUNCTION income_add_daily_account_totals() RETURNS trigger AS $$
BEGIN
    INSERT INTO income_dailyaccounttotal (booked_on, account_id, pence, receipt_credits)
    SELECT booked_on, account_id, sum(amount_pence),
        count(*) FILTER (WHERE amount_pence < 0 AND receipt_id IS NOT NULL)
    FROM new_postings
    GROUP BY booked_on, account_id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER income_posting_daily_totals AFTER INSERT ON income_posting
    REFERENCING NEW TABLE AS new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION income_add_daily_account_totals();

CREATE OR REPLACE FUNCTION income_add_daily_channel_takings() RETURNS trigger AS $$
BEGIN
    INSERT INTO income_dailychanneltakings (received_on, channel_id, receipts, pence)
    SELECT received_on, channel_id, count(*), sum(amount_pence)
    FROM new_receipts
    WHERE status = 'active'
    GROUP BY received_on, channel_id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER income_receipt_daily_takings AFTER INSERT ON income_receipt
    REFERENCING NEW TABLE AS new_receipts
    FOR EACH STATEMENT EXECUTE FUNCTION income_add_daily_channel_takings();

CREATE OR REPLACE FUNCTION income_change_daily_channel_takings() RETURNS trigger AS $$
BEGIN
    INSERT INTO income_dailychanneltakings (received_on, channel_id, receipts, pence)
    SELECT received_on, channel_id, sum(sign), sum(sign * amount_pence)
    FROM (
        SELECT received_on, channel_id, -1 AS sign, amount_pence
        FROM old_receipts WHERE status = 'active'
        UNION ALL
        SELECT received_on, channel_id, 1, amount_pence
        FROM new_receipts WHERE status = 'active'
    ) AS change
    GROUP BY received_on, channel_id
    HAVING sum(sign) <> 0 OR sum(sign * amount_pence) <> 0;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER income_receipt_daily_takings_changed AFTER UPDATE ON income_receipt
    REFERENCING OLD TABLE AS old_receipts NEW TABLE AS new_receipts
    FOR EACH STATEMENT EXECUTE FUNCTION income_change_daily_channel_takings();

INSERT INTO income_dailyaccounttotal (booked_on, account_id, pence, receipt_credits)
SELECT booked_on, account_id, sum(amount_pence),
    count(*) FILTER (WHERE amount_pence < 0 AND receipt_id IS NOT NULL)
FROM income_posting
GROUP BY booked_on, account_id;

INSERT INTO income_dailychanneltakings (received_on, channel_id, receipts, pence)
SELECT received_on, channel_id, count(*), sum(amount_pence)
FROM income_receipt
WHERE status = 'active'
GROUP BY received_on, channel_id;
"""

BACKWARD = """
DROP TRIGGER IF EXISTS income_posting_daily_totals ON income_posting;
DROP FUNCTION IF EXISTS income_add_daily_account_totals();
DROP TRIGGER IF EXISTS income_receipt_daily_takings ON income_receipt;
DROP FUNCTION IF EXISTS income_add_daily_channel_takings();
DROP TRIGGER IF EXISTS income_receipt_daily_takings_changed ON income_receipt;
DROP FUNCTION IF EXISTS income_change_daily_channel_takings();
"""


class Migration(migrations.Migration):
    dependencies = [("income", "0026_money_out_lines_known_once")]

    operations = [
        migrations.CreateModel(
            name="DailyAccountTotal",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("booked_on", models.DateField()),
                ("pence", models.BigIntegerField()),
                ("receipt_credits", models.BigIntegerField()),
                (
                    "account",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=models.DO_NOTHING,
                        related_name="+",
                        to="income.account",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["booked_on", "account"], name="daily_account_total_day")
                ],
            },
        ),  # fmt: skip
        migrations.CreateModel(
            name="DailyChannelTakings",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("received_on", models.DateField()),
                ("receipts", models.BigIntegerField()),
                ("pence", models.BigIntegerField()),
                (
                    "channel",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=models.DO_NOTHING,
                        related_name="+",
                        to="income.channel",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(
                        fields=["received_on", "channel"], name="daily_channel_takings_day"
                    )
                ],
            },
        ),  # fmt: skip
        migrations.RunSQL(one_statement_each(FORWARD), one_statement_each(BACKWARD)),
    ]
