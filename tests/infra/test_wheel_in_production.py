"""The release's wheel, installed alone into a clean virtual environment (no checkout on its
path), runs as production runs it: `counterfoil release`, then `serve`, `worker` and `beat` as
separate processes with DEBUG off, against this machine's PostgreSQL and Redis. The web
process answers ready (database, broker, migrations) on a council's host, and the worker takes
a council's task from Redis and does it in that council's schema.

Needs the machine's Redis (127.0.0.1:6379): skipped, saying so, where there is none.
"""

import os
import secrets
import signal
import socket
import subprocess
import sys
import venv
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django_tenants.utils import schema_context
from psycopg.conninfo import make_conninfo

from income.models import WorkerHeartbeat
from tenants.actions.councils import council_host
from tests.waiting import wait_for

REPOSITORY = Path(__file__).resolve().parents[2]
REDIS = ("127.0.0.1", 6379)


def _redis_answers() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=1) as probe:
            probe.sendall(b"PING\r\n")
            return probe.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A clean virtual environment with only the wheel (and its dependencies) installed."""
    if not _redis_answers():
        pytest.skip("no Redis on 127.0.0.1:6379 to run the production processes against")
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(work)],
        cwd=REPOSITORY, check=True, capture_output=True,
    )  # fmt: skip
    [wheel] = work.glob("counterfoil-*.whl")
    environment = work / "venv"
    venv.create(environment, with_pip=True)
    subprocess.run(
        [str(environment / "bin" / "pip"), "install", "--quiet", str(wheel)],
        check=True, capture_output=True,
    )  # fmt: skip
    return environment


@pytest.fixture
def committed(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        yield


def test_the_installed_wheel_serves_and_works_in_production_mode(
    installed, committed, council_a, tmp_path, s3_server
):
    port = _free_port()
    env = {
        "PATH": f"{installed / 'bin'}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "DATABASE_URL": make_conninfo(
            os.environ["DATABASE_URL"], dbname=settings.DATABASES["default"]["NAME"]
        ),
        "REDIS_URL": "redis://127.0.0.1:6379/14",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/14",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "false",
        "PLATFORM_DOMAIN": settings.PLATFORM_DOMAIN,
        "COUNTERFOIL_DATA_DIR": str(tmp_path / "data"),
        "PORT": str(port),
        "LOG_FORMAT": "json",
        **s3_server.environment(),
        "METRICS_TOKEN": "wheel-metrics-token",
    }
    counterfoil = str(installed / "bin" / "counterfoil")
    # Run from elsewhere than the checkout: only the installed wheel can be imported.
    release = subprocess.run(
        [counterfoil, "release"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert release.returncode == 0, release.stderr
    logs = {name: (tmp_path / f"{name}.log").open("wb") for name in ("serve", "worker", "beat")}
    processes = {
        name: subprocess.Popen(
            [counterfoil, name], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        for name, log in logs.items()
    }
    try:
        host = council_host(council_a.slug)

        def ready() -> bool:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/readyz", headers={"Host": host})
            except httpx.TransportError:
                return False
            return answer.status_code == 200

        wait_for(ready, timeout=60)
        answer = httpx.get(f"http://127.0.0.1:{port}/readyz", headers={"Host": host}).json()
        assert answer == {"status": "ok", "database": "ok", "broker": "ok", "migrations": "ok"}
        sign_in = httpx.get(f"http://127.0.0.1:{port}/accounts/login/", headers={"Host": host})
        assert sign_in.status_code == 200 and "govuk-frontend" in sign_in.text  # assets served
        # Prometheus's scrape: every gunicorn worker's request counts, and the councils' state.
        scraped = httpx.get(
            f"http://127.0.0.1:{port}/metrics",
            headers={
                "Host": settings.PLATFORM_DOMAIN,
                "Authorization": "Bearer wheel-metrics-token",
            },
        )
        assert scraped.status_code == 200, scraped.text
        assert (
            f'counterfoil_http_requests_total{{council="{council_a.schema_name}",status="200"}}'
            in scraped.text
        )
        assert "counterfoil_task_queue_depth " in scraped.text

        # A council's task, sent as the web process sends one, done by the installed worker.
        token = secrets.token_hex(8)
        sent = subprocess.run(
            [counterfoil, "manage", "shell", "-c",
             "from django_tenants.utils import schema_context\n"
             "from django.db import transaction\n"
             "from income.actions.worker_heartbeat import request_worker_heartbeat\n"
             f"with schema_context({council_a.schema_name!r}), transaction.atomic():\n"
             "    print(request_worker_heartbeat(acting_user=None))\n"],
            cwd=tmp_path, env=env, capture_output=True, text=True,
        )  # fmt: skip
        assert sent.returncode == 0, sent.stderr
        token = sent.stdout.strip().splitlines()[-1]

        def recorded() -> bool:
            with schema_context(council_a.schema_name):
                return WorkerHeartbeat.objects.filter(token=token).exists()

        try:
            wait_for(recorded, timeout=60)
        except AssertionError:
            raise AssertionError((tmp_path / "worker.log").read_text()[-3000:]) from None

        # Files go to the bucket from the installed wheel (django-storages and boto3 with it).
        stored = subprocess.run(
            [counterfoil, "manage", "shell", "-c",
             "from django.core.files.uploadedfile import SimpleUploadedFile\n"
             "from django_tenants.utils import schema_context\n"
             "from income.imports.storage import store_upload\n"
             f"with schema_context({council_a.schema_name!r}):\n"
             "    print(store_upload(SimpleUploadedFile('a.txt', b'wheel')).sha256)\n"],
            cwd=tmp_path, env=env, capture_output=True, text=True,
        )  # fmt: skip
        assert stored.returncode == 0, stored.stderr
        key = f"councils/{council_a.schema_name}/imports/{stored.stdout.split()[-1]}"
        assert s3_server.read(key) == b"wheel"
    finally:
        for process in processes.values():
            process.send_signal(signal.SIGTERM)
        for process in processes.values():
            process.wait(timeout=30)
        for log in logs.values():
            log.close()
    assert all(process.returncode is not None for process in processes.values())
