"""django-tenants' PostgreSQL backend, able to skip the `SET search_path` for statements that
name every table with its schema.

With TENANT_LIMIT_SET_CALLS off (as it must stay: see settings), django-tenants sends
`SET search_path` before every statement, a round trip each. The two statements that run on
every signed-in page, loading the session and the user with their membership, read only the
public schema and say so in their SQL (`public.django_session`...), so the search path
cannot change what they read; inside `schema_qualified_statements()` they go without it.
Nothing is cached about the search path: the next statement outside the block sets it as
always.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection
from django_tenants.postgresql_backend import base as tenants_base

from tenants.connection_recycling import note_schema
from tenants.postgresql_backend.schema import SchemaEditor


class DatabaseWrapper(tenants_base.DatabaseWrapper):
    SchemaEditorClass = SchemaEditor

    def __init__(self, *args: object, **kwargs: object) -> None:
        self.schema_qualified_only = False
        super().__init__(*args, **kwargs)

    def _handle_search_path(self, cursor: object = None) -> None:
        if self.schema_qualified_only:
            return
        super()._handle_search_path(cursor)
        note_schema(self)


@contextmanager
def schema_qualified_statements() -> Iterator[None]:
    """Statements run inside name every table with its schema, so need no search path."""
    previous = connection.schema_qualified_only
    connection.schema_qualified_only = True
    try:
        yield
    finally:
        connection.schema_qualified_only = previous
