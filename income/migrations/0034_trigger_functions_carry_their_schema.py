"""Each of a council's trigger functions runs with its council's schema as search path.

On plain PostgreSQL a trigger runs in the session's search path, which django-tenants has set
to the council's. On Citus the council's tables live on a worker, where the trigger fires in
the coordinator's connection to that worker, whose search path is the default: an unqualified
table name in the function (income_dailychanneltakings) would not be found. A search path of
the function's own holds on both.
"""

from django.db import migrations

CARRY_SCHEMA = """
DO $$
DECLARE
    function_oid oid;
BEGIN
    FOR function_oid IN
        SELECT p.oid FROM pg_proc p
        WHERE p.pronamespace = current_schema()::regnamespace
          AND p.prorettype = 'trigger'::regtype
    LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = %I, public',
                       function_oid::regprocedure, current_schema());
    END LOOP;
END
$$
"""

FORGET_SCHEMA = """
DO $$
DECLARE
    function_oid oid;
BEGIN
    FOR function_oid IN
        SELECT p.oid FROM pg_proc p
        WHERE p.pronamespace = current_schema()::regnamespace
          AND p.prorettype = 'trigger'::regtype
    LOOP
        EXECUTE format('ALTER FUNCTION %s RESET search_path', function_oid::regprocedure);
    END LOOP;
END
$$
"""


class Migration(migrations.Migration):
    dependencies = [("income", "0033_ledger_triggers_read_transition_tables_alone")]

    operations = [migrations.RunSQL(CARRY_SCHEMA, FORGET_SCHEMA)]
