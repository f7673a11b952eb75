"""synchronous_commit on every node: on in the local cluster (counterfoil.citus_cluster), as a
live move needs (tenants.placement.WORKER_COMMIT_SETTINGS says why); turned off only to show
that a move is then refused."""

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

from counterfoil.citus_cluster import ClusterAddress


def set_synchronous_commit(value: str) -> None:
    address = ClusterAddress.from_env()
    assert address is not None
    for port in (address.coordinator_port, *address.worker_ports):
        with psycopg.connect(address.url(port=port), autocommit=True) as node:
            node.execute(f"ALTER SYSTEM SET synchronous_commit = {value}")
            node.execute("SELECT pg_reload_conf()")


@contextmanager
def commits_as(value: str) -> Iterator[None]:
    set_synchronous_commit(value)
    try:
        yield
    finally:
        set_synchronous_commit("on")


@pytest.fixture
def durable_commits() -> Iterator[None]:
    """synchronous_commit on for the test (and left on: safe for everything after it)."""
    set_synchronous_commit("on")
    yield
