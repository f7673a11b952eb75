"""How big each council's schema is, when it was last used, and its payments this month: read
from PostgreSQL's catalogue and the councils' own tables, one query each across all councils."""

from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.utils import timezone

from income.models import Receipt
from income.models.receipt import ReceiptStatus
from tenants.models import Council
from tenants.schema_names import validate_schema_name


@dataclass(frozen=True)
class CouncilUsage:
    schema_bytes: int
    last_activity: datetime | None
    payments_this_month: int = 0
    value_this_month_pence: int = 0


def council_usage(councils: list[Council]) -> dict[str, CouncilUsage]:
    """Schema size (every table with its indexes and TOAST) and the time of the latest audit
    record, by schema name, for those councils whose schema exists."""
    schema_names = [council.schema_name for council in councils]
    if not schema_names:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT n.nspname, COALESCE(SUM(pg_total_relation_size(c.oid)), 0)
            FROM pg_namespace n
            LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relkind IN ('r', 'm', 'p')
            WHERE n.nspname = ANY(%s)
            GROUP BY n.nspname
            """,
            [schema_names],
        )
        sizes = dict(cursor.fetchall())
        # Only schemas whose audit table exists (a half-built schema may not have it yet).
        cursor.execute(
            "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relname = 'audit_auditevent' AND c.relkind = 'r' AND n.nspname = ANY(%s)",
            [schema_names],
        )
        with_audit = {row[0] for row in cursor.fetchall()}
        existing = [name for name in schema_names if name in with_audit]
        last_activity: dict[str, datetime | None] = {}
        payments: dict[str, tuple[int, int]] = {}
        if existing:
            # Schema names are ours (checked against the pattern we generate), quoted as
            # identifiers: no user input reaches this SQL.
            for name in existing:
                validate_schema_name(name)
            union = " UNION ALL ".join(
                f"SELECT %s, MAX(occurred_at) FROM {connection.ops.quote_name(name)}"  # noqa: S608
                ".audit_auditevent"
                for name in existing
            )
            cursor.execute(union, existing)
            last_activity = dict(cursor.fetchall())
            cursor.execute(
                "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE c.relname = %s AND c.relkind = 'r' AND n.nspname = ANY(%s)",
                [Receipt._meta.db_table, existing],
            )
            with_receipts = [row[0] for row in cursor.fetchall()]
            payments = _payments_this_month(cursor, with_receipts) if with_receipts else {}
    return {
        name: CouncilUsage(int(sizes[name]), last_activity.get(name), *payments.get(name, (0, 0)))
        for name in schema_names
        if name in sizes
    }


def _payments_this_month(cursor, schema_names: list[str]) -> dict[str, tuple[int, int]]:
    """Receipts (not reversed) received since the first of this month: how many, and pence."""
    table = connection.ops.quote_name(Receipt._meta.db_table)
    first_of_month = timezone.localdate().replace(day=1)
    union = " UNION ALL ".join(
        f"SELECT %s, count(*), COALESCE(sum(amount_pence), 0) FROM "  # noqa: S608
        f"{connection.ops.quote_name(name)}.{table} WHERE received_on >= %s AND status <> %s"
        for name in schema_names
    )
    params: list[object] = []
    for name in schema_names:
        params += [name, first_of_month, ReceiptStatus.REVERSED]
    cursor.execute(union, params)
    return {name: (int(count), int(total)) for name, count, total in cursor.fetchall()}
