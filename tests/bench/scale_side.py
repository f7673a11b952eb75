"""One side of the scale benchmark (tests/bench/test_scale.py): a process of its own against one
database, the Citus cluster's coordinator or the single server, because Django holds one
database per process. `python -m tests.bench.scale_side <step> '<json arguments>'` with
DATABASE_URL set; the last line it prints is the step's result as JSON.
"""

import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import django

WEBHOOK_SECRET = "webhook_scale_bench_secret_0123456789"
PASSWORD = "scale-bench-password-1"


def slug_for(index: int) -> str:
    return f"scale-{index:04d}"


def _admin() -> Any:
    from tenants.models import User

    user, made = User.objects.get_or_create(email="scale-admin@example.org")
    if made:
        user.set_password(PASSWORD)
        user.save()
    return user


def setup(_: dict) -> dict:
    """The public schema at this release, and the council snapshot built once, as a release
    does before any council is approved."""
    from django.core.management import call_command

    from tenants.schema_snapshot import current_snapshot

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    current_snapshot()
    return {"seconds": time.perf_counter() - started}


def _equip(council: Any, admin: Any) -> dict:
    """What the mixed load needs in a council: an admin, GOV.UK Pay, an API client."""
    import datetime

    from django.utils import timezone
    from django_tenants.utils import schema_context

    from income.actions.api_clients import create_api_client
    from income.actions.govuk_pay.connections import save_connection
    from income.models import ApiScope
    from tenants.models import CouncilRole, Membership

    Membership.objects.get_or_create(user=admin, council=council, role=CouncilRole.ADMIN)
    with schema_context(council.schema_name):
        save_connection(
            council=council, acting_user=admin, api_key="api_test_scale",
            webhook_secret=WEBHOOK_SECRET,
        )  # fmt: skip
        token = create_api_client(
            council=council, name="Scale bench", acting_user=admin,
            scopes=[ApiScope.RECEIPTS_READ, ApiScope.RECEIPTS_WRITE],
            expires_at=timezone.now() + datetime.timedelta(days=30),
            rate_limit_per_minute=100_000,
        ).token  # fmt: skip
    return {"slug": council.slug, "token": token}


def provision(arguments: dict) -> dict:
    """Councils up to `upto`, each by create_council (production's path: a spare schema
    renamed, tenants.spare_schemas), timed one by one; after each, the pool topped up again to
    `spares` as the worker does once the council is committed, timed on its own (the schema
    build a council no longer waits for); then each council equipped for the mixed load (not
    timed). With `spares` 0 each council builds its own schema from the snapshot."""
    from django.db import connection

    from tenants.actions.councils import council_host, create_council
    from tenants.models import Council
    from tenants.spare_schemas import replenish

    upto, councils_file = arguments["upto"], Path(arguments["councils_file"])
    spares = arguments.get("spares", 0)
    known = json.loads(councils_file.read_text()) if councils_file.exists() else []
    admin = _admin()
    seconds, spare_seconds = [], []
    replenish(spares)  # as a release leaves the pool
    for index in range(Council.objects.count(), upto):
        started = time.perf_counter()
        council = create_council(name=f"Scale {index}", slug=slug_for(index), acting_user=None)
        seconds.append(time.perf_counter() - started)
        connection.set_schema_to_public()
        started = time.perf_counter()
        if replenish(spares).built:
            spare_seconds.append(time.perf_counter() - started)
        known.append({**_equip(council, admin), "host": council_host(council.slug)})
        connection.set_schema_to_public()
    councils_file.write_text(json.dumps(known))
    return {"seconds": seconds, "spare_seconds": spare_seconds}


def migrate(_: dict) -> dict:
    """A no-op `migrate_councils` (every schema current), timed whole."""
    import io

    from django.core.management import call_command

    from tenants.models import Council

    out = io.StringIO()
    started = time.perf_counter()
    call_command("migrate_councils", stdout=out)
    seconds = time.perf_counter() - started
    assert "0 of" in out.getvalue(), out.getvalue()
    return {"seconds": seconds, "councils": Council.objects.count()}


def load(arguments: dict) -> dict:
    """`receipts` receipts into one council; a payer reference to search for."""
    from django.db import connection
    from django_tenants.utils import schema_context

    from tenants.models import Council
    from tests.bench.receipt_load import load_receipts_into_seven_funds

    council = Council.objects.get(slug=arguments["slug"])
    with schema_context(council.schema_name):
        _, seconds = load_receipts_into_seven_funds(arguments["receipts"])
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT payer_reference FROM income_receipt WHERE payer_name <> '' "
                "ORDER BY id OFFSET %s LIMIT 1",
                [arguments["receipts"] // 2],
            )
            (reference,) = cursor.fetchone()
    return {"seconds": seconds, "reference": reference}


def _backend_bytes() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT sum(total_bytes) FROM pg_backend_memory_contexts")
        return int(cursor.fetchone()[0])


def memory(arguments: dict) -> dict:
    """One connection serves every council in turn (each of the council's tables read, then
    request_finished, as at the end of a request); the backend's memory
    after each council. With `limit` the connection is recycled after that many councils."""
    from django.apps import apps
    from django.conf import settings
    from django.core.signals import request_finished
    from django.db import connection

    from tenants.models import Council

    settings.CONNECTION_COUNCILS_LIMIT = arguments["limit"]
    councils = list(Council.objects.order_by("slug"))
    # Every table of a council read once: a worker serving all kinds of pages ends up so.
    council_models = [
        model for label in ("income", "audit") for model in apps.get_app_config(label).get_models()
    ]
    connection.close()
    samples = []
    for council in councils:
        connection.set_tenant(council)
        for model in council_models:
            model.objects.filter(pk=1).exists()
        samples.append(_backend_bytes())
        request_finished.send(sender=None)
        connection.set_schema_to_public()
    return {"bytes": samples}


def latency(arguments: dict) -> dict:
    """Median of a primary-key read in a council schema, straight through psycopg: on the
    cluster, the coordinator's routing to the worker is what it adds."""
    import psycopg

    from tenants.models import Council

    schema = Council.objects.get(slug=arguments["slug"]).schema_name
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as raw:
        raw.execute(f'SET search_path = "{schema}", public')
        samples = []
        for _ in range(arguments.get("repeats", 300)):
            started = time.perf_counter()
            raw.execute("SELECT id, amount_pence FROM income_receipt WHERE id = 42").fetchall()
            samples.append(time.perf_counter() - started)
    return {"median_ms": statistics.median(samples) * 1000}


STEPS = {
    "setup": setup, "provision": provision, "migrate": migrate, "load": load,
    "memory": memory, "latency": latency,
}  # fmt: skip


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "counterfoil.settings")
    django.setup()
    step, raw_arguments = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "{}"
    print(json.dumps(STEPS[step](json.loads(raw_arguments))))
