"""The embedded PostgreSQL used when DATABASE_URL is unset (the pgserver package ships it).

The first process to ask starts the server in <data dir>/postgres; later ones reuse it. It is
stopped cleanly when the last process that asked for it exits. Child processes (web server,
worker) are handed DATABASE_URL and never start a server of their own.
"""

import logging
import os

import psycopg
from psycopg import sql

from counterfoil.environment import data_dir

DATABASE_NAME = "counterfoil"
logger = logging.getLogger(__name__)
# pgserver narrates every pg_ctl call at INFO, even from atexit after streams are closed.
logging.getLogger("pgserver").setLevel(logging.WARNING)

_server = None  # the pgserver handle; kept so the server lives as long as this process


def ensure_database_url() -> str:
    """DATABASE_URL if set; otherwise start (or reuse) the embedded server and export its URL."""
    configured = os.environ.get("DATABASE_URL")
    if configured:
        return configured
    url = start_embedded_server()
    os.environ["DATABASE_URL"] = url
    return url


def start_embedded_server() -> str:
    global _server
    import pgserver  # imported late: it is only needed when no DATABASE_URL is given

    pgdata = data_dir() / "postgres"
    pgdata.mkdir(parents=True, exist_ok=True)
    _server = pgserver.get_server(pgdata, cleanup_mode="stop")
    _create_database_if_missing(_server.get_uri("postgres"), DATABASE_NAME)
    return _server.get_uri(DATABASE_NAME)


def _create_database_if_missing(maintenance_url: str, name: str) -> None:
    with psycopg.connect(maintenance_url, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            logger.info("creating database %s in the embedded PostgreSQL", name)
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
