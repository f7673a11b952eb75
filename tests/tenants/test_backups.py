"""A council survives a backup and a restore onto another server intact (every table's rows
counted and checksummed), and a damaged backup or a schema already there is refused."""

import datetime
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django_tenants.utils import schema_context
from psycopg.conninfo import make_conninfo

from income.actions.receipts import Allocation, record_receipt
from income.defaults import seed_income_defaults
from income.models import Channel, Fund
from tenants.backups import table_fingerprints
from tests.factories import FundFactory

REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.fixture
def committed_backup(django_db_setup, django_db_blocker, council_a, tmp_path):
    """Council A with a payment, committed, backed up into a folder."""
    folder = tmp_path / "backup"
    with django_db_blocker.unblock():
        with schema_context(council_a.schema_name):
            seed_income_defaults()
            fund = Fund.objects.filter(code="BKUP").first() or FundFactory(code="BKUP")
            record_receipt(
                channel=Channel.objects.get(code="CASH"), amount_pence=4_250,
                received_on=datetime.date(2026, 12, 1), idempotency_key="backup-1",
                acting_user=None, payer_reference="REF-B1",
                allocations=[Allocation(fund, 4_250, "REF-B1")],
            )  # fmt: skip
            # Data that names the schema: a restore under a new name must leave it as it is.
            record_receipt(
                channel=Channel.objects.get(code="CASH"), amount_pence=100,
                received_on=datetime.date(2026, 12, 1), idempotency_key="backup-2",
                acting_user=None, payer_reference="REF-B2",
                payer_name=f"Trustees of {council_a.schema_name}.income_receipt",
                allocations=[Allocation(fund, 100, "REF-B2")],
            )  # fmt: skip
            expected = table_fingerprints(council_a.schema_name)
        call_command("backup_council", council_a.slug, str(folder), stdout=open(os.devnull, "w"))  # noqa: SIM115
        yield folder, expected


@pytest.fixture
def other_server(django_db_setup):
    """Another platform's database (on this machine's server), its public schema migrated."""
    name = f"{settings.DATABASES['default']['NAME']}_restore"
    admin_url = make_conninfo(os.environ["DATABASE_URL"], dbname="postgres")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_conninfo(os.environ["DATABASE_URL"], dbname=name)
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "counterfoil.settings"}
    env.pop("TEST_DATABASE_NAME", None)
    subprocess.run(
        [sys.executable, "manage.py", "migrate_schemas", "--shared", "--noinput", "-v", "0"],
        cwd=REPOSITORY, env=env, check=True, capture_output=True,
    )  # fmt: skip
    yield url, env
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _restore(env: dict, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "restore_council", *arguments],
        cwd=REPOSITORY, env=env, capture_output=True, text=True,
    )  # fmt: skip


def _fingerprints(url: str, schema_name: str) -> dict:
    with psycopg.connect(url) as restored:
        tables = restored.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relkind = 'r' ORDER BY c.relname",
            [schema_name],
        ).fetchall()
        found = {}
        for (table,) in tables:
            count, checksum = restored.execute(
                f"SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '')"  # noqa: S608
                f' FROM "{schema_name}"."{table}" t'
            ).fetchone()
            found[table] = {"rows": count, "md5": checksum}
        return found


def test_a_council_restored_on_another_server_has_every_row_of_every_table(
    committed_backup, other_server, council_a
):
    folder, expected = committed_backup
    url, env = other_server

    result = _restore(env, str(folder))

    assert result.returncode == 0, result.stderr
    assert "every table checked" in result.stdout
    restored = _fingerprints(url, council_a.schema_name)
    assert restored == expected
    assert restored["income_receipt"]["rows"] >= 1
    with psycopg.connect(url) as other:
        slug = other.execute(
            "SELECT slug FROM tenants_council WHERE schema_name = %s", [council_a.schema_name]
        ).fetchone()
    assert slug == (council_a.slug,)

    again = _restore(env, str(folder))  # the schema is there now
    assert again.returncode != 0
    assert f"Schema {council_a.schema_name} already exists on this server" in again.stderr
    assert _restore(env, str(folder), "--replace").returncode == 0


def test_a_backup_whose_checksum_does_not_match_is_refused(committed_backup, council_a):
    folder, _expected = committed_backup
    with (folder / "public.json").open("a") as public:
        public.write(" ")

    refusal = re.escape("public.json does not match the manifest's SHA-256")
    with pytest.raises(CommandError, match=refusal):
        call_command("restore_council", str(folder))

    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["council"]["schema"] == council_a.schema_name  # nothing else touched


def test_a_council_restored_under_a_new_name_sits_beside_the_original_untouched(
    committed_backup, council_a
):
    from tenants.audit.models import AuditEvent
    from tenants.models import Council, Domain, Membership

    folder, expected = committed_backup
    env = {
        **os.environ,
        "DATABASE_URL": make_conninfo(
            os.environ["DATABASE_URL"], dbname=settings.DATABASES["default"]["NAME"]
        ),
    }
    slug = f"north-restored-{os.getpid() % 10_000}"

    result = _restore(env, str(folder), "--as", slug, "--name", "Northbrook (last week)")

    assert result.returncode == 0, result.stderr
    restored = Council.objects.get(slug=slug)
    assert (restored.name, restored.schema_name) == (
        "Northbrook (last week)",
        f"council_{slug.replace('-', '_')}",
    )
    assert table_fingerprints(restored.schema_name) == expected  # every row, names and all
    assert table_fingerprints(council_a.schema_name) == expected  # the original untouched
    with schema_context(restored.schema_name):
        from income.models import Receipt

        assert Receipt.objects.get(payer_reference="REF-B2").payer_name == (
            f"Trustees of {council_a.schema_name}.income_receipt"
        )
    assert AuditEvent.objects.filter(
        action="council.restored_as", target_id=str(restored.pk)
    ).exists()  # in the platform's log
    assert Domain.objects.filter(tenant=restored, is_primary=True).count() == 1
    members = set(Membership.objects.filter(council=restored).values_list("user_id", "role"))
    assert members == set(
        Membership.objects.filter(council=council_a).values_list("user_id", "role")
    )

    again = _restore(env, str(folder), "--as", slug)
    assert again.returncode != 0
    assert f"{slug} is already a council or a schema on this server" in again.stderr
    assert _restore(env, str(folder), "--name", "x").returncode != 0


def test_a_rename_changes_statements_and_never_a_line_of_data():
    from tenants.restore_as import renamed_statements

    script = [
        "CREATE SCHEMA council_old;\n",
        "CREATE TABLE council_old.income_receipt (id bigint, payer_name text);\n",
        "COPY council_old.income_receipt (id, payer_name) FROM stdin;\n",
        "1\tTrustees of council_old.income_receipt\n",
        "2\tcouncil_old\n",
        "\\.\n",
        "SELECT pg_catalog.setval('council_old.income_receipt_id_seq', 2, true);\n",
        "CREATE INDEX council_old_x ON council_old.income_receipt (id);\n",
    ]

    assert list(renamed_statements(script, "council_old", "council_new")) == [
        "CREATE SCHEMA council_new;\n",
        "CREATE TABLE council_new.income_receipt (id bigint, payer_name text);\n",
        "COPY council_new.income_receipt (id, payer_name) FROM stdin;\n",
        "1\tTrustees of council_old.income_receipt\n",
        "2\tcouncil_old\n",
        "\\.\n",
        "SELECT pg_catalog.setval('council_new.income_receipt_id_seq', 2, true);\n",
        "CREATE INDEX council_old_x ON council_new.income_receipt (id);\n",
    ]
