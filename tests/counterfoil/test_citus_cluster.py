"""The local Citus cluster's launcher says why it cannot start, so that `make test` can say
it skipped the Citus part of the suite (the cluster itself: tests/citus, `pytest --citus`)."""

import subprocess
import sys

from counterfoil.citus_cluster import ClusterAddress, citus_unavailable_reason


def test_without_postgresql_binaries_the_reason_names_where_it_looked(monkeypatch, tmp_path):
    monkeypatch.setenv("CITUS_PG_BIN", str(tmp_path))
    assert citus_unavailable_reason() == (
        f"PostgreSQL 15's server binaries are not installed ({tmp_path})"
    )


def test_the_check_command_prints_the_reason_and_fails(tmp_path):
    checked = subprocess.run(
        [sys.executable, "-m", "counterfoil.citus_cluster"],
        env={"CITUS_PG_BIN": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 1
    assert "server binaries are not installed" in checked.stdout


def test_a_clusters_address_travels_in_the_environment(monkeypatch):
    address = ClusterAddress(5500, (5501, 5502))
    monkeypatch.setenv("COUNTERFOIL_CITUS_CLUSTER", address.to_env())
    assert ClusterAddress.from_env() == address
    assert address.url("db", port=5501) == "postgres://postgres@127.0.0.1:5501/db"
