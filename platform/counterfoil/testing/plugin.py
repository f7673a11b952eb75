"""pytest plugin (loaded with -p): point the test session at a database before Django starts.

With DATABASE_URL unset, the embedded PostgreSQL is started (or reused) exactly as for the demo;
pytest-django then creates its own test database on that server, named per session so that
sessions side by side never clash. The Celery broker folder is private to the session (and to
each pytest-xdist worker) too, so a running demo's worker never takes the tests' messages.
"""

import os
import tempfile

from counterfoil.embedded_postgres import ensure_database_url

ensure_database_url()
os.environ.setdefault("TEST_DATABASE_NAME", f"test_counterfoil_{os.getpid()}")
os.environ.setdefault("COUNTERFOIL_BROKER_DIR", tempfile.mkdtemp(prefix="counterfoil-broker-"))
# Under pytest-xdist each worker process has its own test database (pytest-django adds the
# worker's name to it) and must have its own broker folder too: a Celery worker started by one
# process would otherwise take the other's tasks and run them against the wrong database.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["COUNTERFOIL_BROKER_DIR"] = tempfile.mkdtemp(
        prefix=f"counterfoil-broker-{os.environ['PYTEST_XDIST_WORKER']}-"
    )
