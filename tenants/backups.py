"""One council's backup, and its restore into another server (or the same one, if its schema is
not there): the council's schema as a pg_dump custom-format file, its rows of the public
schema (the council, its host names, its members and their user accounts) as JSON, and a
manifest naming each file with its size and SHA-256 and each table with its row count.

The table counts, the public rows and the dump are read in one snapshot. A restore checks
every checksum before it touches anything, refuses a schema that exists unless told to
replace it, and afterwards compares each table's row count and digest with the manifest.
pg_dump and pg_restore are the server's own major version: PG_BIN names their folder (the
embedded server's when it is the one in use).
"""

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core import serializers
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from tenants.archiving import file_sha256
from tenants.models import Council, Domain, Membership, User
from tenants.schema_names import validate_schema_name

MANIFEST = "manifest.json"
SCHEMA_DUMP = "schema.dump"
PUBLIC_ROWS = "public.json"


class BackupRefused(Exception):
    """A restore that would lose or corrupt data: nothing was changed."""


@dataclass(frozen=True)
class Backup:
    folder: Path
    manifest: dict[str, Any]


def pg_tool(name: str) -> str:
    """pg_dump or pg_restore of the server's major version: from PG_BIN, else the embedded
    server's own, else the first on PATH (Debian's wrappers pick the version themselves)."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        major = int(cursor.fetchone()[0]) // 10000
    candidates = [Path(os.environ["PG_BIN"]) / name] if os.environ.get("PG_BIN") else []
    try:
        import pgserver

        candidates.append(Path(pgserver.__file__).parent / "pginstall" / "bin" / name)
    except ImportError:
        pass
    on_path = shutil.which(name)
    candidates += [Path(on_path)] if on_path else []
    for candidate in candidates:
        if candidate.exists() and _major_version(candidate) == major:
            return str(candidate)
    return on_path or name


def _major_version(tool: Path) -> int | None:
    answer = subprocess.run([str(tool), "--version"], capture_output=True, text=True, check=False)  # noqa: S603
    found = re.search(r"PostgreSQL\) (\d+)", answer.stdout)
    return int(found.group(1)) if found else None


def libpq_environment() -> dict[str, str]:
    database = settings.DATABASES["default"]
    options = database.get("OPTIONS", {})
    env = {**os.environ, "PGDATABASE": database["NAME"]}
    for key, variable in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"),
                          ("PASSWORD", "PGPASSWORD")):  # fmt: skip
        if database.get(key):
            env[variable] = str(database[key])
    if options.get("sslmode"):
        env["PGSSLMODE"] = str(options["sslmode"])
    return env


def table_fingerprints(schema_name: str) -> dict[str, dict[str, Any]]:
    """Each table's row count and a checksum of its rows in primary-key order (as text)."""
    validate_schema_name(schema_name)
    found: dict[str, dict[str, Any]] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relkind = 'r' ORDER BY c.relname",
            [schema_name],
        )
        for (table,) in cursor.fetchall():
            name = f"{connection.ops.quote_name(schema_name)}.{connection.ops.quote_name(table)}"
            cursor.execute(
                f"SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '')"  # noqa: S608
                f" FROM {name} t"
            )
            count, checksum = cursor.fetchone()
            found[table] = {"rows": count, "md5": checksum}
    return found


def backup_council(council: Council, folder: Path) -> Backup:
    """Write `council`'s backup into `folder` (made, and expected to be empty)."""
    schema_name = council.schema_name
    validate_schema_name(schema_name)
    folder.mkdir(parents=True, exist_ok=True)
    dump = pg_tool("pg_dump")
    with transaction.atomic():
        # One snapshot for everything: the rows counted, the public rows and the dump (which
        # pg_dump takes over), so a council at work during its backup still restores to
        # exactly what the manifest says.
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
        fingerprints = table_fingerprints(schema_name)
        public = _public_rows(council)
        subprocess.run(  # noqa: S603
            [dump, "--format=custom", f"--schema={schema_name}", "--no-owner",
             "--no-privileges", f"--snapshot={snapshot}", f"--file={folder / SCHEMA_DUMP}"],
            env=libpq_environment(), check=True, capture_output=True,
        )  # fmt: skip
    (folder / PUBLIC_ROWS).write_text(public, encoding="utf-8")
    manifest = {
        "council": {"name": council.name, "slug": council.slug, "schema": schema_name},
        "made_at": timezone.now().isoformat(),
        "files": {
            name: {"bytes": (folder / name).stat().st_size, "sha256": file_sha256(folder / name)}
            for name in (SCHEMA_DUMP, PUBLIC_ROWS)
        },
        "tables": fingerprints,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return Backup(folder, manifest)


def _public_rows(council: Council) -> str:
    memberships = list(Membership.objects.filter(council=council))
    users = list(User.objects.filter(pk__in=[m.user_id for m in memberships]))
    domains = list(Domain.objects.filter(tenant=council))
    return serializers.serialize("json", [council, *domains, *users, *memberships])


def read_backup(folder: Path) -> Backup:
    """The backup in `folder`, with every file checked against the manifest's checksums."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise BackupRefused(f"{folder} holds no readable manifest: {error}") from error
    for name, expected in manifest["files"].items():
        path = folder / name
        if not path.exists():
            raise BackupRefused(f"{name} is missing from the backup: nothing was restored.")
        if file_sha256(path) != expected["sha256"]:
            raise BackupRefused(
                f"{name} does not match the manifest's SHA-256: the backup is damaged or was "
                "changed, and nothing was restored."
            )
    return Backup(folder, manifest)


# What makes a public row the same one on another server: a row of the same id that is
# something else (another person's account) is never overwritten.
IDENTITY = {
    Council: ("schema_name",),
    Domain: ("domain",),
    User: ("email",),
    Membership: ("user_id", "council_id"),
}


def _refuse_clashes(objects: list[Any]) -> None:
    for obj in objects:
        fields = IDENTITY[type(obj)]
        existing = type(obj).objects.filter(pk=obj.pk).values(*fields).first()
        if existing is not None and existing != {f: getattr(obj, f) for f in fields}:
            raise BackupRefused(
                f"This server's {type(obj)._meta.verbose_name} {obj.pk} is another one than the "
                "backup's: nothing was restored. Restore onto a platform without it."
            )


def restore_council(folder: Path, *, replace: bool = False) -> Council:
    """Restore the backup in `folder` into this server's database and check every table."""
    backup = read_backup(folder)
    schema_name = backup.manifest["council"]["schema"]
    validate_schema_name(schema_name)
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema_name])
        exists = cursor.fetchone() is not None
    items = list(
        serializers.deserialize("json", (folder / PUBLIC_ROWS).read_text(encoding="utf-8"))
    )
    _refuse_clashes([item.object for item in items])
    if exists and not replace:
        raise BackupRefused(
            f"Schema {schema_name} already exists on this server: nothing was restored. "
            "Restore with --replace to drop it and put the backup in its place."
        )
    if exists:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP SCHEMA {connection.ops.quote_name(schema_name)} CASCADE")
    connection.close()  # pg_restore must not wait on this connection's locks
    subprocess.run(  # noqa: S603
        [pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
         f"--dbname={settings.DATABASES['default']['NAME']}", str(folder / SCHEMA_DUMP)],
        env=libpq_environment(), check=True, capture_output=True,
    )  # fmt: skip
    with transaction.atomic():
        for item in items:
            item.save()
    with schema_context(schema_name):
        check_restored_tables(schema_name, backup)
    return Council.objects.get(schema_name=schema_name)


def check_restored_tables(schema_name: str, backup: Backup) -> None:
    """Every table of the restored schema has the backup's row count and digest, or
    BackupRefused names those that do not."""
    restored = table_fingerprints(schema_name)
    expected = backup.manifest["tables"]
    if restored != expected:
        differing = sorted(
            table
            for table in set(restored) | set(expected)
            if restored.get(table) != expected.get(table)
        )
        raise BackupRefused(f"The restored tables differ from the backup's: {', '.join(differing)}")
