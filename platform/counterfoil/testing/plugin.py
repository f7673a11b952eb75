"""pytest plugin (loaded with -p): point the test session at a database before Django starts.

With DATABASE_URL unset, the embedded PostgreSQL is started (or reused) exactly as for the demo;
pytest-django then creates its own test database on that server, named per session so that
sessions side by side never clash. The Celery broker folder is private to the session (and to
each pytest-xdist worker) too, so a running demo's worker never takes the tests' messages.

`pytest --citus` runs the Citus part of the suite (tests/citus_suite.py) on a local Citus
cluster (counterfoil.citus_cluster) started here, once for the session, before any pytest-xdist
worker: the workers inherit its address and each prepares its own test database on it.
"""

import os
import sys
import tempfile

import pytest

from counterfoil.citus_cluster import (
    CLUSTER_ENV,
    CitusCluster,
    CitusUnavailable,
    citus_unavailable_reason,
)
from counterfoil.embedded_postgres import ensure_database_url

_cluster: CitusCluster | None = None
# Why `--citus` cannot run here (Citus not installed), reported by skipping every test.
citus_skip_reason: str | None = None


def _start_cluster_if_asked() -> None:
    global _cluster, citus_skip_reason
    if "--citus" not in sys.argv[1:] or os.environ.get(CLUSTER_ENV):
        return  # not asked for, or started already by the process that spawned this one
    citus_skip_reason = citus_unavailable_reason()
    if citus_skip_reason:
        return
    try:
        _cluster = CitusCluster.start()
    except CitusUnavailable as error:
        citus_skip_reason = str(error)
        return
    os.environ[CLUSTER_ENV] = _cluster.address.to_env()
    os.environ["DATABASE_URL"] = _cluster.coordinator.url("postgres")


_start_cluster_if_asked()
ensure_database_url()
os.environ.setdefault("TEST_DATABASE_NAME", f"test_counterfoil_{os.getpid()}")
os.environ.setdefault("COUNTERFOIL_BROKER_DIR", tempfile.mkdtemp(prefix="counterfoil-broker-"))
# No pool of spare council schemas (tenants.spare_schemas) unless a test turns it on: councils
# are made by the hundred here, and the session's worker would build a spare after each.
os.environ.setdefault("COUNTERFOIL_SPARE_COUNCIL_SCHEMAS", "0")
# Under pytest-xdist each worker process has its own test database (pytest-django adds the
# worker's name to it) and must have its own broker folder too: a Celery worker started by one
# process would otherwise take the other's tasks and run them against the wrong database.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["COUNTERFOIL_BROKER_DIR"] = tempfile.mkdtemp(
        prefix=f"counterfoil-broker-{os.environ['PYTEST_XDIST_WORKER']}-"
    )


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--citus",
        action="store_true",
        help="run the Citus part of the suite (tests/citus_suite.py) on a local Citus cluster",
    )


def pytest_report_header(config: pytest.Config) -> str | None:
    if not config.getoption("--citus"):
        return None
    if citus_skip_reason:
        return f"Citus: SKIPPED, {citus_skip_reason}"
    return f"Citus: a local cluster (coordinator:workers ports {os.environ.get(CLUSTER_ENV)})"


def pytest_unconfigure(config: pytest.Config) -> None:
    if _cluster is not None:
        _cluster.stop()
