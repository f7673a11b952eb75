"""Progress of a running import, written from a connection of its own: the import itself is
one transaction, invisible to the page until it commits, so the page reads what this writes."""

import time

import psycopg
from django.db import connection
from psycopg import sql


class ProgressReporter:
    """Writes the batch's progress at most every `interval` seconds (and never holds a lock
    the import's own transaction will want: each write commits at once)."""

    def __init__(self, batch_id: int, *, interval: float = 0.5) -> None:
        self.batch_id = batch_id
        self.interval = interval
        self.last = 0.0
        self.conn: psycopg.Connection | None = None
        params = connection.get_connection_params()
        keep = ("dbname", "user", "password", "host", "port", "sslmode")
        try:
            self.conn = psycopg.connect(
                **{key: params[key] for key in keep if params.get(key) not in (None, "")},
                autocommit=True,
            )
            self.conn.execute(
                sql.SQL("SET search_path TO {}").format(sql.Identifier(connection.schema_name))
            )
        except psycopg.Error:
            self.conn = None  # progress is a nicety; the import goes on without it

    def report(self, *, phase: str, bytes_read: int, lines_read: int, force: bool = False) -> None:
        now = time.monotonic()
        if self.conn is None or (not force and now - self.last < self.interval):
            return
        self.last = now
        try:
            self.conn.execute(
                "UPDATE income_importbatch SET phase = %s, bytes_read = %s, lines_read = %s "
                "WHERE id = %s AND status = 'running'",
                (phase[:100], bytes_read, lines_read, self.batch_id),
            )
        except psycopg.Error:
            self.close()

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
