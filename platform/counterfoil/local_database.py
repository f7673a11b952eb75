"""Whether the database is on this machine: the demo seeds known passwords and TOTP secrets,
so it must never write them into a shared or production database by mistake."""

from django.db import connection

LOCAL_HOSTS = frozenset({"", "localhost", "127.0.0.1", "::1"})


class NotALocalDatabase(RuntimeError):
    """The demo was pointed at a database on another machine."""


def require_local_database() -> None:
    host = connection.settings_dict.get("HOST") or ""
    # An empty host or a socket folder is a Unix socket on this machine.
    if host in LOCAL_HOSTS or host.startswith("/"):
        return
    raise NotALocalDatabase(
        f"The demo seeds logins with a published password and TOTP secrets, so it runs only "
        f"against a database on this machine, not {host}. Unset DATABASE_URL to use the "
        f"embedded PostgreSQL."
    )
