"""A local Citus cluster (a coordinator and two workers) for the tests and `counterfoil demo
--cluster citus`: three PostgreSQL 15 instances started from the machine's own binaries, each
with its own data folder and free port under one temporary folder, `citus` preloaded, trust
authentication on 127.0.0.1 only, stopped (and the folder removed) by `stop()`.

Every database Counterfoil uses on the cluster is prepared by `prepare_database`: created on all
three nodes with the extension, the coordinator recorded as such and the workers registered, so
that each council schema becomes a distributed schema placed whole on one worker
(`citus.enable_schema_based_sharding`). Citus itself is installed by
../shared/tools/citus/install.sh on this machine, from Citus Data's packages elsewhere.
"""

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

CLUSTER_ENV = "COUNTERFOIL_CITUS_CLUSTER"
PG_BIN_CANDIDATES = ("/usr/lib/postgresql/15/bin",)
# The server settings every node gets. Durability on disk is not needed for throwaway test data
# (fsync off), but commits are acknowledged only once written (synchronous_commit on): a live
# move judges itself caught up by the written WAL, so with it off a payment acknowledged just
# before the switch-over could be left on the old copy (tenants.placement refuses moves then). And
# statement triggers on distributed tables (the ledger's balance and daily-totals triggers) are
# safe here: a council's tables live whole on one node, so a trigger never spans nodes.
NODE_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "shared_preload_libraries": "'citus'",
    "max_connections": "200",
    "fsync": "off",
    "synchronous_commit": "on",
    "full_page_writes": "off",
    "wal_level": "logical",
    "max_replication_slots": "20",
    "max_wal_senders": "20",
    "citus.enable_unsafe_triggers": "on",
    "citus.enable_schema_based_sharding": "on",
    # The nodes talk over 127.0.0.1 only: no TLS between them (and no client certificates
    # looked for in a home folder the postgres user may not be able to read).
    "citus.node_conninfo": "'sslmode=disable'",
}


class CitusUnavailable(RuntimeError):
    """The Citus extension (or PostgreSQL 15's server binaries) is not on this machine."""


def postgres_bin_dir() -> Path | None:
    """PostgreSQL 15's server binaries: CITUS_PG_BIN when set (and only it), else Debian's."""
    configured = os.environ.get("CITUS_PG_BIN")
    for candidate in [configured] if configured else PG_BIN_CANDIDATES:
        if (Path(candidate) / "postgres").exists():
            return Path(candidate)
    return None


def citus_unavailable_reason() -> str | None:
    """Why the cluster cannot start here, or None when it can."""
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        where = os.environ.get("CITUS_PG_BIN") or PG_BIN_CANDIDATES[0]
        return f"PostgreSQL 15's server binaries are not installed ({where})"
    pg_config = bin_dir / "pg_config"
    try:
        libdir = subprocess.run(  # noqa: S603 - our own path to pg_config
            [str(pg_config if pg_config.exists() else "pg_config"), "--pkglibdir"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        libdir = str(bin_dir.parent / "lib")
    if not (Path(libdir) / "citus.so").exists():
        return (
            f"the Citus extension is not installed ({libdir}/citus.so is missing; "
            f"run ../shared/tools/citus/install.sh)"
        )
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Node:
    name: str
    data_dir: Path
    port: int

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"


@dataclass(frozen=True)
class ClusterAddress:
    """Where a running cluster's nodes listen (all on 127.0.0.1), passed to child processes in
    the environment variable CLUSTER_ENV as "coordinator_port:worker_port,worker_port"."""

    coordinator_port: int
    worker_ports: tuple[int, ...]

    def url(self, database: str = "postgres", port: int | None = None) -> str:
        return f"postgres://postgres@127.0.0.1:{port or self.coordinator_port}/{database}"

    def to_env(self) -> str:
        return f"{self.coordinator_port}:{','.join(map(str, self.worker_ports))}"

    @classmethod
    def from_env(cls) -> "ClusterAddress | None":
        value = os.environ.get(CLUSTER_ENV)
        if not value:
            return None
        coordinator, workers = value.split(":")
        return cls(int(coordinator), tuple(int(port) for port in workers.split(",")))


def prepare_database(address: ClusterAddress, name: str) -> str:
    """Create `name` on every node with Citus in it and the workers registered; its URL on
    the coordinator. Safe to repeat."""
    for port in (*address.worker_ports, address.coordinator_port):  # citus_add_node needs them
        with psycopg.connect(address.url(port=port), autocommit=True) as connection:
            exists = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [name]
            ).fetchone()
            if not exists:
                connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        with psycopg.connect(address.url(name, port=port), autocommit=True) as connection:
            connection.execute("CREATE EXTENSION IF NOT EXISTS citus")
    with psycopg.connect(address.url(name), autocommit=True) as connection:
        connection.execute(
            "SELECT citus_set_coordinator_host('127.0.0.1', %s)", [address.coordinator_port]
        )
        for port in address.worker_ports:
            _add_worker(connection, port)
    return address.url(name)


# The coordinator's first connection to a worker can fail for a moment on a loaded machine
# (CI once saw "failure on connection marked as essential" from citus_add_node, just after
# this process had reached the same worker itself): try again before giving up.
ADD_WORKER_ATTEMPTS = 5


def _add_worker(connection: psycopg.Connection, port: int) -> None:
    for attempt in range(1, ADD_WORKER_ATTEMPTS + 1):
        try:
            # Safe to repeat: a node added already is left as it is.
            connection.execute("SELECT citus_add_node('127.0.0.1', %s)", [port])
            return
        except psycopg.Error:
            if attempt == ADD_WORKER_ATTEMPTS:
                raise
            time.sleep(attempt)


@dataclass
class CitusCluster:
    """Start with `CitusCluster.start()`; `coordinator.url(db)` is what DATABASE_URL points at."""

    base_dir: Path
    coordinator: Node
    workers: list[Node]
    _run_as: str | None = None
    _started: list[Node] = field(default_factory=list)

    @classmethod
    def start(cls, worker_count: int = 2) -> "CitusCluster":
        reason = citus_unavailable_reason()
        if reason:
            raise CitusUnavailable(reason)
        base_dir = Path(tempfile.mkdtemp(prefix="counterfoil-citus-"))
        # PostgreSQL refuses to run as root: run the nodes as the postgres system user then.
        run_as = "postgres" if os.geteuid() == 0 else None
        if run_as:
            account = pwd.getpwnam(run_as)
            os.chown(base_dir, account.pw_uid, account.pw_gid)
        nodes = [Node("coordinator", base_dir / "coordinator", _free_port())]
        nodes += [
            Node(f"worker{i}", base_dir / f"worker{i}", _free_port())
            for i in range(1, worker_count + 1)
        ]
        cluster = cls(base_dir, nodes[0], nodes[1:], run_as)
        try:
            for node in nodes:
                cluster._init_node(node)
            # initdb is the slow part; start them all, then wait for each.
            for node in nodes:
                cluster._start_node(node)
            cluster.prepare_database("postgres")
        except BaseException:
            cluster.stop()
            raise
        return cluster

    @property
    def nodes(self) -> list[Node]:
        return [self.coordinator, *self.workers]

    @property
    def address(self) -> "ClusterAddress":
        return ClusterAddress(self.coordinator.port, tuple(w.port for w in self.workers))

    def prepare_database(self, name: str) -> str:
        return prepare_database(self.address, name)

    def stop(self) -> None:
        for node in reversed(self._started):
            self._pg_ctl(node, "stop", "-m", "immediate")
        self._started.clear()
        shutil.rmtree(self.base_dir, ignore_errors=True)

    def stop_node(self, node: Node) -> None:
        self._pg_ctl(node, "stop", "-m", "fast")
        self._started.remove(node)

    def start_node(self, node: Node) -> None:
        self._start_node(node)

    def _init_node(self, node: Node) -> None:
        self._run(
            "initdb", "-D", str(node.data_dir), "-U", "postgres", "-A", "trust", "--no-sync",
            "-E", "UTF8", "--locale", "C.UTF-8",
        )  # fmt: skip
        settings = dict(NODE_SETTINGS, port=str(node.port))
        settings["unix_socket_directories"] = f"'{node.data_dir}'"
        with open(node.data_dir / "postgresql.conf", "a") as conf:
            conf.write("\n# counterfoil citus_cluster\n")
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())
        with open(node.data_dir / "pg_hba.conf", "w") as hba:
            hba.write("local all all trust\nhost all all 127.0.0.1/32 trust\n")
            hba.write("host replication all 127.0.0.1/32 trust\n")

    def _start_node(self, node: Node) -> None:
        log = node.data_dir / "server.log"
        self._pg_ctl(node, "start", "-w", "-t", "60", "-l", str(log))
        self._started.append(node)

    def _pg_ctl(self, node: Node, *args: str) -> None:
        self._run("pg_ctl", "-D", str(node.data_dir), *args)

    def _environment(self) -> dict[str, str]:
        environment = dict(os.environ)
        if self._run_as:
            environment["HOME"] = pwd.getpwnam(self._run_as).pw_dir
        return environment

    def _run(self, program: str, *args: str) -> None:
        bin_dir = postgres_bin_dir()
        assert bin_dir is not None
        subprocess.run(  # noqa: S603 - the PostgreSQL binaries, our arguments
            [str(bin_dir / program), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            user=self._run_as,
            cwd=self.base_dir,
            env=self._environment(),
        )


def main() -> None:
    """`python -m counterfoil.citus_cluster check`: exit 0 when a cluster can start here;
    otherwise print why not and exit 1 (the Makefile's test target says it skipped)."""
    import sys

    reason = citus_unavailable_reason()
    if reason:
        print(reason)
        sys.exit(1)


if __name__ == "__main__":
    main()
