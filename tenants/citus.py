"""What Counterfoil does differently when its database is a Citus cluster (the extension is
installed in it): the public tables council tables point at are made reference tables, copied
whole to every node, so that a council's distributed schema on a worker can keep its keys."""

from django.db.backends.base.base import BaseDatabaseWrapper

# Public tables that council tables hold foreign keys to (ARCHITECTURE.md: only the users).
REFERENCED_PUBLIC_TABLES = ("tenants_user",)
# Whether each database (host, port, name) has the extension: it is not dropped while we run.
_citus_databases: dict[tuple[object, object, object], bool] = {}


def is_citus(connection: BaseDatabaseWrapper) -> bool:
    """Whether the database has the Citus extension; asked once per connection settings."""
    key = (connection.settings_dict.get("HOST"), connection.settings_dict.get("PORT"),
           connection.settings_dict.get("NAME"))  # fmt: skip
    if key not in _citus_databases:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'citus'")
            _citus_databases[key] = cursor.fetchone() is not None
    return _citus_databases[key]


def make_reference_tables(connection: BaseDatabaseWrapper) -> list[str]:
    """Make REFERENCED_PUBLIC_TABLES reference tables (on Citus; nothing on plain PostgreSQL);
    the tables it changed. Safe to repeat."""
    if not is_citus(connection):
        return []
    changed = []
    with connection.cursor() as cursor:
        for table in REFERENCED_PUBLIC_TABLES:
            cursor.execute(
                "SELECT 1 FROM pg_dist_partition WHERE logicalrelid = %s::regclass",
                [f"public.{table}"],
            )
            if cursor.fetchone() is None:
                cursor.execute("SELECT create_reference_table(%s)", [f"public.{table}"])
                changed.append(table)
    return changed
