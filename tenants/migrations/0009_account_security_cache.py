"""The table behind the "account_security" cache when there is no Redis (settings.CACHES):
Django's database cache layout, in the public schema, so every process on every host shares
allauth's used TOTP codes and its counts of wrong passwords and codes. Made here rather than
by `createcachetable`, so no deployment (nor the demo) can forget it."""

from django.db import migrations

from tenants.sql_statements import one_statement_each

TABLE = "account_security_cache"

CREATE = f"""
CREATE TABLE IF NOT EXISTS public.{TABLE} (
    cache_key varchar(255) NOT NULL PRIMARY KEY,
    value text NOT NULL,
    expires timestamp with time zone NOT NULL
);
CREATE INDEX IF NOT EXISTS {TABLE}_expires ON public.{TABLE} (expires);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0008_host_names_and_applications_reserve_only_when_proved"),
    ]

    operations = [
        migrations.RunSQL(one_statement_each(CREATE), f"DROP TABLE IF EXISTS public.{TABLE};"),
    ]
