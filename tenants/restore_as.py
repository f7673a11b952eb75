"""Restoring a council's backup beside the live council, under a new slug and schema: to read
last week's books without touching this week's, or to rehearse a restore on the production
server.

PostgreSQL cannot restore a schema under another name, so pg_restore writes the dump as SQL and
the schema's name is changed on the way to psql, in the statements only: the lines of each COPY
block (the council's data) pass through untouched, so a payer's name or an audit entry that
happens to contain the old schema's name is restored as it was. It all runs in one
transaction, and every table is compared with the manifest afterwards.

The public rows follow the new council: a new council row and platform host name, its members
joined to the accounts of the same email on this server (made, without a usable password,
where there are none: they reset it), never touching the live council's.
"""

import re
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from django.conf import settings
from django.core import serializers
from django.db import connection, transaction
from django.utils import timezone

from tenants.actions.councils import council_host
from tenants.audit.recording import record_audit
from tenants.backups import (
    PUBLIC_ROWS,
    SCHEMA_DUMP,
    BackupRefused,
    check_restored_tables,
    libpq_environment,
    pg_tool,
    read_backup,
)
from tenants.council_directory import council_directory
from tenants.models import Council, Domain, Membership, ProvisioningState, User
from tenants.models.council import DomainVerification
from tenants.schema_names import schema_name_for_slug, validate_schema_name

COPY_START = re.compile(r"^COPY .* FROM stdin;$")


def renamed_statements(lines: Iterable[str], old: str, new: str) -> Iterator[str]:
    """pg_restore's SQL with schema `old` renamed `new` in every statement and in no data line.
    Schema names are ours (council_ and lower-case letters, digits and underscores), so a whole
    word match finds each mention: `old.table`, `SCHEMA old`, `'old.sequence'`."""
    validate_schema_name(old)
    validate_schema_name(new)
    mention = re.compile(rf"\b{re.escape(old)}\b")
    in_data = False
    for line in lines:
        if in_data:
            in_data = line.rstrip("\n") != "\\."
            yield line
            continue
        renamed = mention.sub(new, line)
        in_data = bool(COPY_START.match(renamed.rstrip("\n")))
        yield renamed


def restore_council_as(
    folder: Path, *, slug: str, name: str | None = None, acting_user: User | None
) -> Council:
    """Restore the backup in `folder` as a new council `slug` on this server."""
    backup = read_backup(folder)
    old_schema = backup.manifest["council"]["schema"]
    validate_schema_name(old_schema)
    new_schema = schema_name_for_slug(slug)
    connection.set_schema_to_public()
    if Council.objects.filter(slug=slug).exists() or _schema_exists(new_schema):
        raise BackupRefused(
            f"{slug} is already a council or a schema on this server: nothing was restored. "
            "Choose a new name."
        )
    items = [
        item.object
        for item in serializers.deserialize(
            "json", (folder / PUBLIC_ROWS).read_text(encoding="utf-8")
        )
    ]
    [original] = [obj for obj in items if isinstance(obj, Council)]
    connection.close()  # psql must not wait on this connection's locks
    _restore_renamed(folder, old_schema, new_schema)
    try:
        check_restored_tables(new_schema, backup)
        council = _public_rows(items, original, slug, name, new_schema, acting_user)
    except BaseException:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP SCHEMA IF EXISTS {connection.ops.quote_name(new_schema)} CASCADE")
        raise
    council_directory.forget()
    return council


def _schema_exists(schema: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema])
        return cursor.fetchone() is not None


def _restore_renamed(folder: Path, old: str, new: str) -> None:
    environment = libpq_environment()
    database = settings.DATABASES["default"]["NAME"]
    dump = subprocess.Popen(  # noqa: S603
        [pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--file=-",
         str(folder / SCHEMA_DUMP)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment, text=True,
    )  # fmt: skip
    load = subprocess.Popen(  # noqa: S603
        [pg_tool("psql"), "--no-psqlrc", "--quiet", "--single-transaction",
         "--set=ON_ERROR_STOP=1", f"--dbname={database}", "--file=-"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=environment,
        text=True,
    )  # fmt: skip
    assert dump.stdout is not None and load.stdin is not None
    try:
        _pipe(renamed_statements(dump.stdout, old, new), load.stdin)
    finally:
        load.stdin.close()
    dumped, loaded = dump.wait(), load.wait()
    if dumped or loaded:
        errors = (dump.stderr.read() if dump.stderr else "") + (
            load.stderr.read() if load.stderr else ""
        )
        raise BackupRefused(f"The restore failed and was rolled back: {errors.strip()[:2000]}")


def _pipe(lines: Iterable[str], out: IO[str]) -> None:
    for line in lines:
        out.write(line)


@transaction.atomic
def _public_rows(
    items: list[object],
    original: Council,
    slug: str,
    name: str | None,
    schema: str,
    acting_user: User | None,
) -> Council:
    now = timezone.now()
    council = Council.objects.create(
        slug=slug,
        name=name or f"{original.name} (restored {now:%d %B %Y})",
        schema_name=schema,
        status=original.status,
        status_changed=now,
        provisioning_state=ProvisioningState.READY,
    )
    Domain.objects.create(
        domain=council_host(slug),
        tenant=council,
        is_primary=True,
        verified_at=now,
        verification_method=DomainVerification.PLATFORM,
    )
    people = {obj.pk: obj for obj in items if isinstance(obj, User)}
    for membership in (obj for obj in items if isinstance(obj, Membership)):
        person = people[membership.user_id]
        user = User.objects.filter(email__iexact=person.email).first()
        if user is None:
            user = User.objects.create_user(email=person.email, full_name=person.full_name)
        Membership.objects.create(user=user, council=council, role=membership.role)
    # In the platform's log: the restored schema is kept exactly as the backup has it.
    record_audit(
        "council.restored_as",
        acting_user=acting_user,
        target=council,
        after={"from_schema": original.schema_name, "slug": slug, "schema": schema},
    )
    return council
