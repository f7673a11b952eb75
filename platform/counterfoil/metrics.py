"""Metrics for Prometheus at /metrics: requests by council and status counted by every web
process (prometheus-client's multiprocess mode under gunicorn), the task queue's depth read from
the broker, and what console.platform_health reads from the councils' tables at each scrape.

The page answers on any host name (a scraper asks by address), and only to the task itself (a
sidecar agent on the loopback interface: the load balancer's requests never come from there)
or to a request carrying METRICS_TOKEN as its bearer token. To anyone else it does not exist."""

import hmac
import os
from collections.abc import Callable, Iterator

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from console.platform_health import platform_health
from console.task_queue import queue_depth

# As prometheus-client decides when it is imported: counts in files shared by the server's
# worker processes (under gunicorn, counterfoil.gunicorn_config), or in this process's memory.
MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

REQUESTS = Counter(
    "counterfoil_http_requests",
    "HTTP responses by council schema (public: the platform's host) and status code.",
    ["council", "status"],
    registry=None,
)


LOOPBACK = {"127.0.0.1", "::1"}


class RequestMetricsMiddleware:
    """Serves /metrics, and counts every other response under the council whose host it came
    to."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/metrics":
            return metrics(request)
        response = self.get_response(request)
        council = getattr(getattr(request, "tenant", None), "schema_name", None) or "none"
        REQUESTS.labels(council=council, status=str(response.status_code)).inc()
        return response


class PlatformCollector:
    """The platform's state, measured when Prometheus asks."""

    def collect(self) -> Iterator[Metric]:
        health = platform_health()
        gauges: list[tuple[str, str, float]] = [
            ("counterfoil_task_queue_depth", "Tasks waiting in the broker's queue.",
             queue_depth()),
            ("counterfoil_worker_heartbeat_age_seconds",
             "Age of the stalest council's scheduled worker heartbeat (sent every "
             "WORKER_HEARTBEAT_SECONDS): past that interval, tasks wait this long.",
             health.heartbeat_age_seconds),
            ("counterfoil_webhook_inbox_waiting", "GOV.UK Pay webhook messages not yet applied.",
             health.webhooks_waiting),
            ("counterfoil_webhook_inbox_oldest_seconds",
             "Age of the oldest GOV.UK Pay webhook message not yet applied.",
             health.oldest_webhook_wait_seconds),
            ("counterfoil_imports_running", "Imports being read now.", health.imports_running),
            ("counterfoil_imports_finished_last_hour", "Imports finished in the last hour.",
             health.imports_finished_last_hour),
            ("counterfoil_import_longest_last_hour_seconds",
             "Duration of the longest import finished in the last hour.",
             health.longest_import_last_hour_seconds),
            ("counterfoil_exports_failed_last_day", "Export runs that failed in the last day.",
             health.exports_failed_last_day),
            ("counterfoil_mop_up_lag_seconds",
             "Time since the GOV.UK Pay mop-up last ran for the council furthest behind.",
             health.mop_up_lag_seconds),
            ("counterfoil_councils_served", "Councils with a whole schema, not closed.",
             len(health.councils)),
        ]  # fmt: skip
        for name, documentation, value in gauges:
            yield GaugeMetricFamily(name, documentation, value=value)
        per_council = GaugeMetricFamily(
            "counterfoil_council_webhook_inbox_waiting",
            "GOV.UK Pay webhook messages not yet applied, by council.",
            labels=["council"],
        )
        failed = GaugeMetricFamily(
            "counterfoil_council_exports_failed_last_day",
            "Export runs that failed in the last day, by council.",
            labels=["council"],
        )
        for council in health.councils:
            per_council.add_metric([council.schema_name], council.webhooks_waiting)
            failed.add_metric([council.schema_name], council.exports_failed_last_day)
        yield per_council
        yield failed


def _may_scrape(request: HttpRequest) -> bool:
    from_the_task = request.META.get("REMOTE_ADDR") in LOOPBACK and not any(
        header in request.headers for header in ("X-Forwarded-For", "Forwarded")
    )
    expected = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "").removeprefix("Bearer ")
    has_token = bool(expected) and hmac.compare_digest(given.encode(), expected.encode())
    return from_the_task or has_token


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    if request.method != "GET" or not _may_scrape(request):
        return HttpResponseNotFound("Not found", content_type="text/plain")
    registry = CollectorRegistry()
    if MULTIPROCESS:
        MultiProcessCollector(registry)  # every gunicorn worker's counts, live and exited
    else:
        registry.register(REQUESTS)
    registry.register(PlatformCollector())
    connection.set_schema_to_public()
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
