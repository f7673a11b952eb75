"""Column defaults PostgreSQL computes itself as each row is written."""

from django.db import models


class CurrentTransactionId(models.Func):
    """The writing transaction's 64-bit id (`xid8`, as a bigint so it takes a BRIN index)."""

    template = "(pg_current_xact_id()::text::bigint)"
    output_field = models.BigIntegerField()


class TodayInLondon(models.Func):
    """Today's date in the UK, whatever the connection's time zone (Django's is UTC)."""

    template = "((now() AT TIME ZONE 'Europe/London')::date)"
    output_field = models.DateField()
