"""/readyz on a real web server says "unavailable" while PostgreSQL cannot be reached and
"ok" again once it is back, without a restart; /healthz answers throughout."""

import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tests.fixtures.worker import stop_process, worker_environment
from tests.standins.tcp_proxy import CuttableProxy
from tests.waiting import wait_for

COUNTERFOIL = str(Path(sys.executable).parent / "counterfoil")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def committed(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        yield


def test_readiness_fails_while_postgresql_is_away_and_recovers_when_it_is_back(committed, tmp_path):
    database = worker_environment()["DATABASE_URL"]
    parts = conninfo_to_dict(database)
    host, server_port = parts.get("host") or "127.0.0.1", int(parts.get("port") or 5432)
    # The embedded server listens on a Unix socket in a folder; the machine's on TCP.
    upstream = f"{host}/.s.PGSQL.{server_port}" if host.startswith("/") else (host, server_port)
    proxy = CuttableProxy(upstream)
    proxy.start()
    port = _free_port()
    env = worker_environment(
        DATABASE_URL=make_conninfo(database, host="127.0.0.1", port=str(proxy.port)),
        READINESS_CACHE_SECONDS="0",
        COUNTERFOIL_DATA_DIR=str(tmp_path / "data"),
    )
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [COUNTERFOIL, "serve", "--port", str(port), "--workers", "1"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    host = {"Host": settings.PLATFORM_DOMAIN}

    def ready() -> dict | None:
        try:
            answer = httpx.get(f"http://127.0.0.1:{port}/readyz", headers=host, timeout=10)
        except httpx.TransportError:
            return None
        return {"code": answer.status_code, **answer.json()}

    try:
        assert wait_for(lambda: (r := ready()) and r["code"] == 200 and r, timeout=60)
        proxy.cut()
        away = wait_for(lambda: (r := ready()) and r["code"] == 503 and r, timeout=30)
        assert away["status"] == "unavailable" and away["database"] == "OperationalError"
        live = httpx.get(f"http://127.0.0.1:{port}/healthz", headers=host, timeout=10)
        assert live.status_code == 200
        proxy.start()  # PostgreSQL is back, on the same address
        back = wait_for(lambda: (r := ready()) and r["code"] == 200 and r, timeout=30)
        assert back["database"] == back["broker"] == back["migrations"] == "ok"
    finally:
        proxy.cut()
        stop_process(server)
        log.close()
