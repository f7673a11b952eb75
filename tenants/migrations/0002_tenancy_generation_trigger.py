"""Bump the tenancy generation whenever a council or a domain changes.

The per-process host → council cache (tenants.council_directory) compares this number to decide
when to forget what it knows. The bump is an UPDATE in the same transaction as the change, so
the new generation becomes visible exactly when the change does.
"""

from django.db import migrations

from tenants.sql_statements import one_statement_each

BUMP_FUNCTION = """
CREATE OR REPLACE FUNCTION tenants_bump_tenancy_generation() RETURNS trigger AS $$
BEGIN
    UPDATE tenants_tenancygeneration SET value = value + 1 WHERE id = 1;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""

TRIGGERS = """
INSERT INTO tenants_tenancygeneration (id, value) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
CREATE TRIGGER tenants_council_generation AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON tenants_council FOR EACH STATEMENT EXECUTE FUNCTION tenants_bump_tenancy_generation();
CREATE TRIGGER tenants_domain_generation AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON tenants_domain FOR EACH STATEMENT EXECUTE FUNCTION tenants_bump_tenancy_generation();
"""

DROP = """
DROP TRIGGER IF EXISTS tenants_council_generation ON tenants_council;
DROP TRIGGER IF EXISTS tenants_domain_generation ON tenants_domain;
DROP FUNCTION IF EXISTS tenants_bump_tenancy_generation();
"""


class Migration(migrations.Migration):
    dependencies = [("tenants", "0001_initial")]

    operations = [
        migrations.RunSQL(one_statement_each(BUMP_FUNCTION + TRIGGERS), one_statement_each(DROP))
    ]
