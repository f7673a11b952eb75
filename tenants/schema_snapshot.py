"""A versioned DDL snapshot of a council's schema, replayed to build a new council in one round
trip instead of running every migration.

The snapshot belongs to one *migration state*: the names and contents of every council-schema
migration on disk. The first time a process needs the snapshot of a state that has none, it
builds a throwaway template schema with the migrations (the one source of truth) and the
council seeders (settings.COUNCIL_SEEDERS: standard VAT codes, channels, system accounts), reads
back what they made from PostgreSQL's catalogue (tables, columns, identity, constraints,
indexes, functions, triggers, sequences, and the rows: django_migrations and the seeded
defaults), writes that as one SQL script with a placeholder for the schema name, stores it in
the public schema, and drops the template. Every later council of that release is the script,
replayed in one transaction: complete with its defaults, or not there at all.

The state hashes the migrations and the source of the seeders' packages, so a release that
changes either gets a snapshot of its own.

Anything the reader does not know how to copy (a view, a custom type, a rule, a policy) makes
it give up: provisioning then runs the migrations, as before, so a new kind of object can never
be silently left out. A test compares a replayed schema with a migrated one, object by object.
"""

import hashlib
import inspect
import re
import secrets
import threading
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from django.db.migrations.loader import MigrationLoader
from django.utils.module_loading import import_string
from django_tenants.utils import get_public_schema_name, schema_context

from tenants.citus import is_citus
from tenants.models.snapshot import SchemaSnapshot
from tenants.schema_names import validate_schema_name

PLACEHOLDER = "__counterfoil_council_schema__"
ROWS_MARKER = "-- rows\n"
# Ends every statement of the script, so that it can be sent one statement at a time to Citus,
# which forwards DDL to the worker as the text it was given and refuses several commands in it.
STATEMENT_END = ";\n-- end of statement\n"
TEMPLATE_PREFIX = "tpl_"
# Any 32-bit number: the advisory lock taken while a snapshot is built.
SNAPSHOT_LOCK = 7_301_112


class UnsupportedSchemaObject(Exception):
    """The template holds something the snapshot cannot reproduce: use the migrations."""


@dataclass(frozen=True)
class Snapshot:
    state: str
    script: str
    migration_count: int

    def for_schema(self, schema_name: str) -> str:
        """The whole script: the schema, its objects and its rows."""
        validate_schema_name(schema_name)
        return self.script.replace(PLACEHOLDER, schema_name)

    def ddl_for_schema(self, schema_name: str) -> str:
        """Only CREATE SCHEMA and the DDL, without the rows (the benchmark's reference)."""
        return self.for_schema(schema_name).split(ROWS_MARKER, 1)[0]

    def statements_for_schema(self, schema_name: str) -> list[str]:
        """The script as its statements, one by one."""
        return [part for part in self.for_schema(schema_name).split(STATEMENT_END) if part.strip()]


_cache: dict[str, Snapshot] = {}
_cache_lock = threading.Lock()
_state: str | None = None


def migration_state() -> str:
    """SHA-256 over the council apps' migrations on disk (names and file contents), the
    source of the packages the council seeders live in, and this module's."""
    global _state
    if _state is None:
        labels = {
            config.label for config in apps.get_app_configs() if config.name in settings.TENANT_APPS
        }
        loader = MigrationLoader(None, ignore_no_migrations=True, load=False)
        loader.load_disk()
        digest = hashlib.sha256()
        for (label, name), migration in sorted(loader.disk_migrations.items()):
            if label not in labels:
                continue
            digest.update(f"{label}.{name}\n".encode())
            digest.update(inspect.getsource(inspect.getmodule(migration)).encode())
        # This module writes the script: a change to it is a new snapshot too.
        digest.update(Path(__file__).read_bytes())
        for dotted_path in settings.COUNCIL_SEEDERS:
            package = Path(import_module(dotted_path.split(".", 1)[0]).__file__).parent
            for source in sorted(package.rglob("*.py")):
                if "migrations" not in source.parts:
                    digest.update(str(source.relative_to(package.parent)).encode())
                    digest.update(source.read_bytes())
        _state = digest.hexdigest()
    return _state


def current_snapshot() -> Snapshot | None:
    """The snapshot of this release's council schema, built once if needed; None if the
    schema holds something a snapshot cannot reproduce."""
    state = migration_state()
    cached = _cache.get(state)
    if cached is not None:
        return cached
    with _cache_lock:
        if state in _cache:
            return _cache[state]
        with schema_context(get_public_schema_name()):
            stored = SchemaSnapshot.objects.filter(state=state).first()
            if stored is None:
                stored = _build_and_store(state)
        snapshot = (
            Snapshot(stored.state, stored.script, stored.migration_count)
            if stored is not None and stored.script
            else None
        )
        _cache[state] = snapshot  # type: ignore[assignment]
        return snapshot


def replay(snapshot: Snapshot, schema_name: str) -> None:
    """Create `schema_name` from the snapshot, in one transaction: in one statement batch on
    PostgreSQL, one statement at a time on Citus (tenants.citus)."""
    with transaction.atomic(), connection.cursor() as cursor:
        if is_citus(connection):
            for statement in snapshot.statements_for_schema(schema_name):
                cursor.execute(statement)
        else:
            cursor.execute(snapshot.for_schema(schema_name))


def _build_and_store(state: str) -> SchemaSnapshot | None:
    """Build the template with the migrations, read it back, store the script (or, when the
    template holds something unsupported, an empty script meaning "use the migrations")."""
    # A name of its own: the lock below is the session's, and django-tenants closes the
    # connection after migrating, so another process may be building the same state at once.
    template = f"{TEMPLATE_PREFIX}{state[:12]}_{secrets.token_hex(4)}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s::integer)", [SNAPSHOT_LOCK])
    try:
        stored = SchemaSnapshot.objects.filter(state=state).first()
        if stored is not None:
            return stored
        _migrate_template(template)
        try:
            script, migration_count = _read_template(template)
        except UnsupportedSchemaObject:
            script, migration_count = "", 0
        finally:
            _drop_schema(template)
        stored, _ = SchemaSnapshot.objects.get_or_create(
            state=state, defaults={"script": script, "migration_count": migration_count}
        )
        return stored
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s::integer)", [SNAPSHOT_LOCK])


def _migrate_template(template: str) -> None:
    from tenants.models import Council

    validate_schema_name(template)
    Council(schema_name=template).create_schema(check_if_exists=False, verbosity=0)
    with schema_context(template), transaction.atomic():
        for dotted_path in settings.COUNCIL_SEEDERS:
            import_string(dotted_path)()
    connection.set_schema_to_public()


def _drop_schema(schema_name: str) -> None:
    validate_schema_name(schema_name)
    with connection.cursor() as cursor:
        # Built inside a caller's transaction, the seeders' deferred checks are still pending
        # and would block the drop: run them now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"DROP SCHEMA IF EXISTS {connection.ops.quote_name(schema_name)} CASCADE")


def _read_template(template: str) -> tuple[str, int]:
    """The SQL that rebuilds `template` under another name, and how many migrations it holds."""
    statements: list[str] = [
        "SET LOCAL check_function_bodies = false",
        f"CREATE SCHEMA {PLACEHOLDER}",
        f"SET LOCAL search_path = {PLACEHOLDER}, public",
    ]
    with connection.cursor() as cursor:
        # Names in the template print unqualified; anything elsewhere (public's users table)
        # prints qualified.
        cursor.execute(f"SET search_path = {connection.ops.quote_name(template)}")
        try:
            _refuse_unsupported(cursor, template)
            statements += _functions(cursor, template)
            statements += _sequences(cursor, template)
            tables = _tables(cursor, template)
            statements += _create_tables(tables, _constraints(cursor, template))
            statements += _indexes(cursor, template)
            statements += _triggers(cursor, template)
            data, migration_count = _rows(cursor, template, list(tables))
            # Rows go in table by table, not in foreign-key order: check references at the
            # end, even inside a caller's transaction that has made its constraints immediate.
            statements.append(ROWS_MARKER + "SET CONSTRAINTS ALL DEFERRED")
            statements += data
        finally:
            cursor.execute("SET search_path = public")
    qualified = re.compile(rf"(?<![\w\"]){re.escape(template)}\.")
    # A function's own search path (income's trigger functions) names the schema as a literal.
    as_literal = re.compile(rf"'{re.escape(template)}'")
    script = STATEMENT_END.join(
        as_literal.sub(f"'{PLACEHOLDER}'", qualified.sub(f"{PLACEHOLDER}.", s)) for s in statements
    )
    script += STATEMENT_END
    if re.search(rf"\b{re.escape(template)}\b", script):
        raise UnsupportedSchemaObject(f"the template's name is left in the script: {template}")
    return script, migration_count


def _refuse_unsupported(cursor, template: str) -> None:
    cursor.execute(
        "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relkind NOT IN ('r', 'i', 'S')",
        [template],
    )
    other = cursor.fetchall()
    cursor.execute(
        "SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace"
        " WHERE n.nspname = %s AND t.typtype NOT IN ('c', 'b')"
        " UNION ALL SELECT r.rulename FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class"
        " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s"
        " UNION ALL SELECT p.polname FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s",
        [template, template, template],
    )
    other += cursor.fetchall()
    cursor.execute(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND (c.relkind = 'r' AND c.relispartition)",
        [template],
    )
    if other or cursor.fetchone()[0]:
        raise UnsupportedSchemaObject(f"not copied by the snapshot: {other}")


def _functions(cursor, template: str) -> list[str]:
    cursor.execute(
        "SELECT pg_get_functiondef(p.oid) FROM pg_proc p"
        " JOIN pg_namespace n ON n.oid = p.pronamespace"
        " WHERE n.nspname = %s AND p.prokind IN ('f', 'p') ORDER BY p.proname, p.oid",
        [template],
    )
    return [row[0].strip() for row in cursor.fetchall()]


def _sequences(cursor, template: str) -> list[str]:
    """Sequences of their own (identity columns bring theirs with them)."""
    cursor.execute(
        "SELECT s.sequencename, s.data_type::text, s.start_value, s.min_value, s.max_value,"
        " s.increment_by, s.cycle, s.cache_size FROM pg_sequences s"
        " JOIN pg_class c ON c.relname = s.sequencename"
        " JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = s.schemaname"
        " WHERE s.schemaname = %s AND NOT EXISTS (SELECT 1 FROM pg_depend d"
        "   WHERE d.objid = c.oid AND d.deptype = 'i' AND d.classid = 'pg_class'::regclass)"
        " ORDER BY s.sequencename",
        [template],
    )
    return [
        f"CREATE SEQUENCE {PLACEHOLDER}.{_quote(name)} AS {data_type} INCREMENT BY {increment}"
        f" MINVALUE {minimum} MAXVALUE {maximum} START WITH {start} CACHE {cache}"
        f"{' CYCLE' if cycle else ' NO CYCLE'}"
        for name, data_type, start, minimum, maximum, increment, cycle, cache in cursor.fetchall()
    ]


def _tables(cursor, template: str) -> dict[str, tuple[list[str], str]]:
    """Each table's column definitions and storage parameters, by name."""
    cursor.execute(
        "SELECT c.oid, c.relname, c.reloptions FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relkind = 'r' ORDER BY c.relname",
        [template],
    )
    tables = cursor.fetchall()
    result = {}
    for oid, name, options in tables:
        cursor.execute(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,"
            " a.attidentity, a.attgenerated, pg_get_expr(d.adbin, d.adrelid),"
            " CASE WHEN a.attcollation <> t.typcollation THEN co.collname END"
            " FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid"
            " LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
            " LEFT JOIN pg_collation co ON co.oid = a.attcollation"
            " WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
            [oid],
        )
        columns = []
        for (
            column,
            type_name,
            not_null,
            identity,
            generated,
            default,
            collation,
        ) in cursor.fetchall():
            parts = [_quote(column), type_name]
            if collation:
                parts.append(f"COLLATE {_quote(collation)}")
            if generated == "s":
                parts.append(f"GENERATED ALWAYS AS ({default}) STORED")
            elif default is not None:
                parts.append(f"DEFAULT {default}")
            if identity == "d":
                parts.append("GENERATED BY DEFAULT AS IDENTITY")
            elif identity == "a":
                parts.append("GENERATED ALWAYS AS IDENTITY")
            if not_null:
                parts.append("NOT NULL")
            columns.append(" ".join(parts))
        # Storage parameters (income's autovacuum thresholds), as `name=value` from pg_class.
        result[name] = (columns, f" WITH ({', '.join(options)})" if options else "")
    return result


def _constraints(cursor, template: str) -> list[tuple[str, str, str, str | None]]:
    """(table, name, definition, the template's table a foreign key points at) for each
    constraint, foreign keys last."""
    cursor.execute(
        "SELECT c.relname, co.conname, pg_get_constraintdef(co.oid),"
        " CASE WHEN rn.nspname = n.nspname THEN r.relname END FROM pg_constraint co"
        " JOIN pg_class c ON c.oid = co.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
        " LEFT JOIN pg_class r ON r.oid = co.confrelid"
        " LEFT JOIN pg_namespace rn ON rn.oid = r.relnamespace"
        " WHERE n.nspname = %s AND co.contype IN ('p', 'u', 'c', 'x', 'f')"
        " ORDER BY c.relname, co.contype = 'f', co.contype, co.conname",
        [template],
    )
    return cursor.fetchall()


def _create_tables(
    tables: dict[str, tuple[list[str], str]], constraints: list[tuple[str, str, str, str | None]]
) -> list[str]:
    """A CREATE TABLE for each table with its constraints in it, after the tables its foreign
    keys point at; a key that would close a cycle (or is NOT VALID) is added after them all.

    Keys inside CREATE TABLE rather than one ALTER TABLE each: on Citus each foreign key added
    to a distributed table makes the coordinator rebuild its graph of every foreign key in the
    database (every council's), while a new table's keys cost one rebuild for the table. That
    is what kept a new council's time growing with the number of councils."""
    own: dict[str, list[tuple[str, str, str | None]]] = {name: [] for name in tables}
    for table, name, definition, referenced in constraints:
        own[table].append((name, definition, referenced))
    statements: list[str] = []
    added_after: list[str] = []
    created: set[str] = set()

    def create(table: str, waiting: set[str]) -> None:
        waiting.add(table)
        for _, _, referenced in own[table]:
            if referenced and referenced not in created and referenced not in waiting:
                create(referenced, waiting)
        inline = []
        for name, definition, referenced in own[table]:
            clause = f"CONSTRAINT {_quote(name)} {definition}"
            if "NOT VALID" in definition or referenced not in (None, table, *created):
                added_after.append(f"ALTER TABLE {PLACEHOLDER}.{_quote(table)} ADD {clause}")
            else:
                inline.append(clause)
        columns, storage = tables[table]
        statements.append(
            f"CREATE TABLE {PLACEHOLDER}.{_quote(table)} ({', '.join(columns + inline)}){storage}"
        )
        created.add(table)

    for table in tables:
        if table not in created:
            create(table, set())
    return statements + added_after


def _indexes(cursor, template: str) -> list[str]:
    """Indexes not made by a constraint."""
    cursor.execute(
        "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i"
        " JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND NOT EXISTS"
        " (SELECT 1 FROM pg_constraint co WHERE co.conindid = i.indexrelid"
        "  AND co.contype IN ('p', 'u', 'x'))"
        " ORDER BY c.relname",
        [template],
    )
    return [_qualify_index(row[0]) for row in cursor.fetchall()]


def _qualify_index(definition: str) -> str:
    # pg_get_indexdef prints the table unqualified when it is on the search path: put the
    # placeholder in front of the table it is ON.
    return re.sub(r" ON (ONLY )?(?!\w+\.)", rf" ON \g<1>{PLACEHOLDER}.", definition, count=1)


def _triggers(cursor, template: str) -> list[str]:
    cursor.execute(
        "SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND NOT t.tgisinternal ORDER BY c.relname, t.tgname",
        [template],
    )
    return [
        re.sub(r" ON (?!\w+\.)", f" ON {PLACEHOLDER}.", row[0], count=1)
        for row in cursor.fetchall()
    ]


def _rows(cursor, template: str, tables: list[str]) -> tuple[list[str], int]:
    """INSERTs for the rows the migrations left (django_migrations, any data migration's), and
    identity sequences moved past them."""
    statements = []
    migration_count = 0
    for table in tables:
        qualified = f"{_quote(template)}.{_quote(table)}"
        cursor.execute(f"SELECT quote_literal(t::text) FROM {qualified} t")  # noqa: S608
        literals = [row[0] for row in cursor.fetchall()]
        if not literals:
            continue
        if table == "django_migrations":
            migration_count = len(literals)
        target = f"{PLACEHOLDER}.{_quote(table)}"
        statements.append(
            f"INSERT INTO {target} SELECT (r::{target}).* FROM unnest(ARRAY[{', '.join(literals)}]::text[]) r"  # noqa: E501, S608
        )
        cursor.execute(
            "SELECT a.attname FROM pg_attribute a WHERE a.attrelid = %s::regclass"
            " AND a.attidentity <> '' AND NOT a.attisdropped",
            [qualified],
        )
        for (column,) in cursor.fetchall():
            # The highest value as a literal, read from the template now: a setval that reads
            # the table would run on the Citus worker holding it, whose copy of the sequence is
            # not the one the coordinator draws ids from.
            cursor.execute(f"SELECT max({_quote(column)}) FROM {qualified}")  # noqa: S608
            highest = int(cursor.fetchone()[0])
            statements.append(
                f"SELECT setval(pg_get_serial_sequence('{target}', '{column}'), {highest})"
            )
    return statements, migration_count


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)
