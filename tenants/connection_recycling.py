"""Close a database connection once it has served CONNECTION_COUNCILS_LIMIT distinct council
schemas, at the end of the request or task that reached the limit; the next one reopens it.

A PostgreSQL backend caches the catalogue entries (relation, attribute, index descriptors) of
every table it touches and never lets them go. With persistent connections (CONN_MAX_AGE) a web
or Celery worker that serves every council would end up holding every council's tables in each
backend: tens of megabytes per connection at a few hundred councils, more on a Citus
coordinator, which caches each schema's distribution metadata as well. Recycling after N
councils bounds that, at the price of one reconnect every N councils.
"""

from typing import Any

from django.conf import settings
from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django_tenants.utils import get_public_schema_name


def note_schema(wrapper: BaseDatabaseWrapper) -> None:
    """Record the council schema the wrapper's current connection is about to use."""
    schema_name = wrapper.schema_name  # type: ignore[attr-defined]
    if wrapper.connection is None or schema_name == get_public_schema_name():
        return
    # Counted per physical connection: a reopened one starts again from nothing.
    if getattr(wrapper, "_councils_served_by", None) is not wrapper.connection:
        wrapper._councils_served_by = wrapper.connection  # type: ignore[attr-defined]
        wrapper.councils_served = set()  # type: ignore[attr-defined]
    wrapper.councils_served.add(schema_name)  # type: ignore[attr-defined]


def councils_served(wrapper: BaseDatabaseWrapper) -> int:
    if getattr(wrapper, "_councils_served_by", None) is not wrapper.connection:
        return 0
    return len(wrapper.councils_served)  # type: ignore[attr-defined]


def recycle_if_spent(**_signal: Any) -> None:
    """At the end of a request or task: close the connection if it has served the limit.
    Never mid-transaction (an atomic block spanning the signal is the caller's to finish)."""
    limit = settings.CONNECTION_COUNCILS_LIMIT
    if limit and councils_served(connection) >= limit and not connection.in_atomic_block:
        connection.close()
