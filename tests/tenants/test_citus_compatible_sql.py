"""What we changed so that Counterfoil's schema works on Citus as on plain PostgreSQL (each
change held here on plain PostgreSQL; tests/citus runs the same code on a cluster)."""

import pytest
from django.apps.registry import Apps
from django.db import connection, models
from django.db.utils import IntegrityError
from django_tenants.utils import schema_context

from tenants.schema_snapshot import current_snapshot
from tenants.sql_statements import one_statement_each

pytestmark = pytest.mark.django_db


def test_a_script_splits_into_its_statements_keeping_function_bodies_whole():
    script = """
CREATE FUNCTION f() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'no; never';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER t BEFORE DELETE ON x FOR EACH ROW EXECUTE FUNCTION f();
"""
    statements = one_statement_each(script)
    assert len(statements) == 2
    assert "END;\n$$ LANGUAGE plpgsql" in statements[0]
    assert statements[1].startswith("CREATE TRIGGER t")


class Scratch(models.Model):  # noqa: DJ008 - a table for the schema editor only
    class Meta:
        apps = Apps()  # a registry of its own: the model is not part of the project
        app_label = "citus_scratch"
        db_table = "citus_scratch"


def _column_added(field: models.Field) -> list[str]:
    field.set_attributes_from_name("added")
    with connection.schema_editor(collect_sql=True) as editor:
        editor.add_field(Scratch, field)
    return editor.collected_sql


@pytest.mark.parametrize(
    "field", [models.PositiveIntegerField(null=True), models.CharField(max_length=9, unique=True)]
)
def test_a_new_columns_constraint_is_added_by_name_after_the_column(field):
    """Citus refuses ADD COLUMN with a constraint in it."""
    add_column, *constraints = _column_added(field)
    assert "ADD COLUMN" in add_column
    assert "CHECK" not in add_column and "UNIQUE" not in add_column
    assert any("ADD CONSTRAINT" in sql for sql in constraints)


def test_a_new_foreign_key_column_gets_its_key_by_name_after_the_column():
    from tenants.models import User

    add_column, *rest = _column_added(models.ForeignKey(User, on_delete=models.CASCADE, null=True))
    assert "REFERENCES" not in add_column
    assert any("ADD CONSTRAINT" in sql and "FOREIGN KEY" in sql for sql in rest)


def test_the_constraint_added_after_the_column_still_holds():
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE citus_scratch (id bigint PRIMARY KEY)")
    for sql in _column_added(models.PositiveIntegerField(null=True)):
        with connection.cursor() as cursor:
            cursor.execute(sql)
    with pytest.raises(IntegrityError), connection.cursor() as cursor:
        cursor.execute("INSERT INTO citus_scratch (id, added) VALUES (1, -1)")


def test_the_snapshot_replays_statement_by_statement_as_it_does_whole():
    snapshot = current_snapshot()
    assert snapshot is not None
    statements = snapshot.statements_for_schema("council_any")
    assert len(statements) > 50
    assert statements[1].strip() == "CREATE SCHEMA council_any"
    # Its identity sequences are set to a number, never by reading the table (which Citus
    # would do on the worker, whose copy of the sequence is not the coordinator's).
    setvals = [s for s in statements if "setval(" in s]
    assert setvals and not any("max(" in s for s in setvals)


def test_every_council_trigger_function_carries_its_schemas_search_path(council_a):
    """On Citus a trigger fires on the worker, in a session whose search path is not the
    council's: the function must name its schema itself."""
    with schema_context(council_a.schema_name), connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.proname, p.proconfig FROM pg_proc p"
            " WHERE p.pronamespace = %s::regnamespace AND p.prorettype = 'trigger'::regtype",
            [council_a.schema_name],
        )
        functions = cursor.fetchall()
    assert len(functions) >= 8
    expected = [f"search_path={council_a.schema_name}, public"]
    assert {name: config for name, config in functions} == {name: expected for name, _ in functions}
