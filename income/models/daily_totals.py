"""Each day's totals, kept as the ledger is written, so the dashboard reads a few hundred rows
instead of millions of postings (migration 0027).

Statement-level triggers append one row per day and account (or day and channel) for each
INSERT statement: one set-wise pass over the statement's rows, so a million-line import adds
a few hundred rows, not a million. Rows are only ever appended by the triggers, never updated
in place: two transactions writing the same day never wait for each other or deadlock (an
import in a long transaction would otherwise hold today's row of every fund it touched).
`income.daily_totals.compact_daily_totals` folds each day's rows into one from time to time;
readers sum whatever rows there are.
"""

from django.db import models


class DailyAccountTotal(models.Model):
    """Postings booked on a day to an account: their sum, and how many were credits that
    named a receipt (payments into a fund)."""

    booked_on = models.DateField()
    account = models.ForeignKey(
        "income.Account", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False,
        related_name="+",
    )  # fmt: skip
    pence = models.BigIntegerField()
    receipt_credits = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["booked_on", "account"], name="daily_account_total_day")]

    def __str__(self) -> str:
        return f"{self.booked_on} account {self.account_id}: {self.pence}p"


class DailyChannelTakings(models.Model):
    """Active receipts received on a day by a channel: how many and how much. A receipt
    reversed later leaves it (an UPDATE trigger appends the difference)."""

    received_on = models.DateField()
    channel = models.ForeignKey(
        "income.Channel", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False,
        related_name="+",
    )  # fmt: skip
    receipts = models.BigIntegerField()
    pence = models.BigIntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["received_on", "channel"], name="daily_channel_takings_day")
        ]

    def __str__(self) -> str:
        return f"{self.received_on} channel {self.channel_id}: {self.receipts} for {self.pence}p"
