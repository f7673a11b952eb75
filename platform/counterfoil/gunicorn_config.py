"""gunicorn's configuration for `counterfoil serve` (and the image's web process):
`gunicorn --config python:counterfoil.gunicorn_config counterfoil.wsgi:application`.

From the environment: BIND_ADDRESS (127.0.0.1; 0.0.0.0 in a container), PORT (8000),
WEB_CONCURRENCY (2 workers), FORWARDED_ALLOW_IPS (the load balancer's addresses, whose
X-Forwarded-* headers are believed; none by default).
"""

import os
import shutil
import tempfile

from counterfoil.environment import data_dir

bind = f"{os.environ.get('BIND_ADDRESS', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# On SIGTERM each worker stops taking requests and has this long to finish the ones it has:
# longer than a load balancer's deregistration delay is no use, shorter cuts uploads off.
graceful_timeout = 30
timeout = 60
keepalive = 5
# Heartbeat files in memory, not on the root file system, which may be read-only.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "")
accesslog = "-"
# The access log without the tokens invitation and reset links carry.
logger_class = "counterfoil.access_log.RedactingGunicornLogger"

# Request counts from every worker process, summed at /metrics (prometheus-client's multiprocess
# mode): each worker writes its own file here, set before any worker imports the client.
# Unless given, a folder of this server's own under the data folder (the root file system may
# be read-only), removed when the server exits.
if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
    _metrics_root = data_dir() / "prometheus"
    _metrics_root.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="gunicorn-", dir=_metrics_root)
METRICS_FOLDER = os.environ["PROMETHEUS_MULTIPROC_DIR"]


def on_starting(server: object) -> None:
    # Counts of an earlier run of this server are not this run's.
    shutil.rmtree(METRICS_FOLDER, ignore_errors=True)
    os.makedirs(METRICS_FOLDER, exist_ok=True)


def child_exit(server: object, worker: object) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]


def on_exit(server: object) -> None:
    shutil.rmtree(METRICS_FOLDER, ignore_errors=True)
