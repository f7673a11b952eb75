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
# mode): each worker writes its own file in one folder, named in the environment when the server
# starts, before any worker imports the client. Unless given, a folder of this server's own under
# the data folder (the root file system may be read-only), removed when the server exits.
def on_starting(server: object) -> None:
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        # Counts of an earlier run of this server are not this run's.
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder, exist_ok=True)
    else:
        root = data_dir() / "prometheus"
        root.mkdir(parents=True, exist_ok=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="gunicorn-", dir=root)
        os.environ["COUNTERFOIL_OWN_METRICS_FOLDER"] = "1"


def child_exit(server: object, worker: object) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]


def on_exit(server: object) -> None:
    if os.environ.pop("COUNTERFOIL_OWN_METRICS_FOLDER", None):
        shutil.rmtree(os.environ.pop("PROMETHEUS_MULTIPROC_DIR"), ignore_errors=True)
