"""With no DATABASE_URL, an embedded PostgreSQL is started, reused, and stopped cleanly."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = """
from counterfoil.embedded_postgres import ensure_database_url
import psycopg
url = ensure_database_url()
with psycopg.connect(url) as connection:
    print(connection.execute("select current_database()").fetchone()[0])
    print(connection.execute("show server_version").fetchone()[0].split(".")[0])
"""


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    # The server runs as an unprivileged user when we are root, so the folder must be reachable.
    tmp_path.chmod(0o755)
    return tmp_path / "data"


def _run_without_database_url(data_dir: Path) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["COUNTERFOIL_DATA_DIR"] = str(data_dir)
    output = subprocess.check_output([sys.executable, "-c", PROBE], env=env, text=True, timeout=120)
    return output.split()


def test_the_embedded_server_starts_in_the_data_folder_and_stops_at_exit(data_dir):
    assert _run_without_database_url(data_dir) == ["counterfoil", "16"]
    assert (data_dir / "postgres" / "PG_VERSION").exists()
    # Stopped cleanly when the last process using it exited.
    assert not (data_dir / "postgres" / "postmaster.pid").exists()

    # A second start reuses the same data folder and database.
    assert _run_without_database_url(data_dir) == ["counterfoil", "16"]
