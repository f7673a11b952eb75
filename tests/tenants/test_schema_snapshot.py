"""A council's schema built from the release's DDL snapshot is the schema the migrations build,
object for object, with the migrations recorded as applied."""

import re

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django_tenants.utils import schema_context

from tenants.models import Council
from tenants.provisioning import provision_schema
from tenants.schema_snapshot import current_snapshot

pytestmark = pytest.mark.django_db


def describe(schema: str) -> dict[str, object]:
    """Everything in a schema that matters, with the schema's own name taken out."""

    def rows(sql: str) -> list[tuple]:
        with connection.cursor() as cursor:
            cursor.execute(sql, [schema])
            return sorted(tuple(_without_name(v) if isinstance(v, str) else v for v in row)
                          for row in cursor.fetchall())  # fmt: skip

    def _without_name(text: str) -> str:
        # Qualified names, and the literal in a trigger function's own search path.
        return re.sub(rf"'{schema}'", "'S'", re.sub(rf"\b{schema}\.", "S.", text))

    return {
        "columns": rows(
            "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,"
            " a.attidentity, a.attgenerated, pg_get_expr(d.adbin, d.adrelid),"
            # The column's place among the table's columns (attnum counts dropped ones too).
            " row_number() OVER (PARTITION BY c.relname ORDER BY a.attnum)"
            " FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
            " WHERE n.nspname = %s AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped"
        ),
        "relations": rows(
            "SELECT c.relname, c.relkind, c.reloptions::text FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s"
        ),
        "constraints": rows(
            "SELECT c.relname, co.conname, co.contype, pg_get_constraintdef(co.oid),"
            " co.condeferrable, co.condeferred FROM pg_constraint co"
            " JOIN pg_class c ON c.oid = co.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s"
        ),
        "indexes": rows(
            "SELECT c.relname, pg_get_indexdef(c.oid) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relkind = 'i'"
        ),
        "triggers": rows(
            "SELECT t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t"
            " JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND NOT t.tgisinternal"
        ),
        "functions": rows(
            "SELECT p.proname, pg_get_functiondef(p.oid) FROM pg_proc p"
            " JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = %s"
        ),
        "sequences": rows(
            "SELECT sequencename, data_type::text, start_value, increment_by FROM pg_sequences"
            " WHERE schemaname = %s"
        ),
    }


def without_casts(rows: list[tuple]) -> list[tuple]:
    """PostgreSQL prints a re-parsed predicate's casts differently (`ARRAY['a'::varchar]::text[]`
    comes back as `ARRAY[('a'::varchar)::text]`): the same expression, compared without them."""

    def plain(value: object) -> object:
        if not isinstance(value, str):
            return value
        return re.sub(r"[()\s]|::[a-z ]+(\[\])?", "", value)

    return [tuple(plain(v) for v in row) for row in rows]


def applied(schema: str) -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT app, name FROM "{schema}".django_migrations')  # noqa: S608
        return set(cursor.fetchall())


def test_a_replayed_schema_is_the_migrated_schema(council_a):
    migrated = Council(schema_name="migrated_check")
    migrated.create_schema(check_if_exists=True, verbosity=0)
    connection.set_schema_to_public()
    # council_a was provisioned from the snapshot (conftest's create_council). Its stored row
    # may be gone: a test that built the snapshot first, inside its own transaction, rolled it
    # back with everything else (the process keeps the snapshot it built).
    assert current_snapshot().script

    replayed, expected = describe(council_a.schema_name), describe("migrated_check")

    for part in expected:
        if part in ("indexes", "constraints"):
            assert without_casts(replayed[part]) == without_casts(expected[part]), part
        else:
            assert replayed[part] == expected[part], part
    assert applied(council_a.schema_name) == applied("migrated_check")
    assert len(applied("migrated_check")) == current_snapshot().migration_count


def test_the_snapshot_names_no_schema_but_the_placeholder(council_a):
    snapshot = current_snapshot()
    assert "tpl_" not in snapshot.script
    assert council_a.schema_name not in snapshot.script
    assert "public.tenants_user" in snapshot.script  # users stay in the public schema
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'tpl\\_%%'")
        assert cursor.fetchone()[0] == 0  # the template is dropped once read


def test_each_table_is_created_with_its_keys_after_the_tables_they_point_at():
    """On Citus each foreign key added by ALTER TABLE makes the coordinator rebuild its graph
    of every council's keys: a council's keys are declared in its tables' CREATE TABLE."""
    statements = current_snapshot().statements_for_schema("council_any")
    assert not [s for s in statements if s.startswith("ALTER TABLE")]
    created: list[str] = []
    for statement in statements:
        table = re.match(r'CREATE TABLE council_any\."(\w+)"', statement)
        if table:
            created.append(table.group(1))
            assert set(re.findall(r"REFERENCES (\w+)\(", statement)) <= set(created), statement
    assert len(created) > 40
    assert sum("FOREIGN KEY" in s for s in statements) > 20


def _applied_migrations(schema_name: str) -> list[tuple[str, str]]:
    with schema_context(schema_name), connection.cursor() as cursor:
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY id")
        return cursor.fetchall()


def test_a_council_built_from_the_snapshot_migrates_as_a_no_op(council_a):
    before = _applied_migrations(council_a.schema_name)
    with schema_context(council_a.schema_name):
        executor = MigrationExecutor(connection)
        assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []

    call_command(
        "migrate_schemas", schema_name=council_a.schema_name, interactive=False, verbosity=0
    )
    connection.set_schema_to_public()
    provision_schema(council_a)  # already current: nothing to do

    assert _applied_migrations(council_a.schema_name) == before
    assert ("income", "0001_initial") in before


def test_provisioning_is_all_or_nothing_and_repeatable():
    council = Council(schema_name="council_replay_twice", slug="replay-twice", name="Replay")
    provision_schema(council)
    before = describe("council_replay_twice")
    provision_schema(council)
    assert describe("council_replay_twice") == before


def table_rows(schema: str, table: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT * FROM "{schema}"."{table}" ORDER BY 1')  # noqa: S608
        return cursor.fetchall()


def test_a_replayed_council_has_the_seeded_defaults_the_seeders_make():
    from django.conf import settings
    from django.utils.module_loading import import_string
    from django_tenants.utils import schema_context

    provision_schema(Council(schema_name="council_fresh_replay"))
    migrated = Council(schema_name="migrated_and_seeded")
    migrated.create_schema(check_if_exists=True, verbosity=0)
    with schema_context("migrated_and_seeded"):
        for dotted_path in settings.COUNCIL_SEEDERS:
            import_string(dotted_path)()
    connection.set_schema_to_public()

    for table in (
        "income_vatcode",
        "income_channel",
        "income_account",
        "income_refundapprovallimit",
    ):
        replayed = table_rows("council_fresh_replay", table)
        assert replayed, table
        assert replayed == table_rows("migrated_and_seeded", table), table
    # Identity sequences carry on after the copied rows.
    with schema_context("council_fresh_replay"):
        from income.models import VatCode

        VatCode.objects.create(code="ZZ", name="Test", rate_basis_points=0)
