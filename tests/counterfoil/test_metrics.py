"""Prometheus metrics at /metrics on the platform's host, only with the operator's bearer token,
and the console's home showing the same figures at a glance."""

import datetime
import re

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from income.defaults import seed_income_defaults
from income.exports.layout import parse_fields
from income.models import (
    ExportRun,
    ExportStatus,
    ExportTarget,
    GovukPayConnection,
    GovukPayWebhookMessage,
    WorkerHeartbeat,
)
from income.tasks import SCHEDULED_HEARTBEAT_TOKEN
from tenants.models import PlatformRole
from tests.conftest import host_client, sign_in
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
TOKEN = "a-long-metrics-token-for-prometheus"


@pytest.fixture(autouse=True)
def _token(settings):
    settings.METRICS_TOKEN = TOKEN


def scrape(**headers) -> tuple[int, str]:
    # From elsewhere than the task's own loopback, as through the load balancer.
    response = host_client(None).get("/metrics", REMOTE_ADDR="203.0.113.9", **headers)
    return response.status_code, response.content.decode()


def value(text: str, name: str, **labels: str) -> float:
    label_text = ",".join(f'{key}="{label}"' for key, label in labels.items())
    pattern = re.escape(f"{name}{{{label_text}}}" if labels else name) + r" (\S+)"
    match = re.search(rf"^{pattern}$", text, re.MULTILINE)
    assert match, f"{name} {labels} not in:\n{text}"
    return float(match.group(1))


@pytest.fixture
def troubled_council(council_a):
    """Council A with a webhook waiting for ten minutes, a failed export, a mop-up three hours
    behind and a scheduled heartbeat twenty minutes old."""
    now = timezone.now()
    with schema_context(council_a.schema_name):
        seed_income_defaults()
        connection = GovukPayConnection.objects.create(
            api_key_encrypted="sealed", last_mop_up_at=now - datetime.timedelta(hours=3)
        )
        message = GovukPayWebhookMessage.objects.create(
            webhook_message_id="m-1", connection=connection, event_type="card_payment_captured",
            resource_id="p-1", body={},
        )  # fmt: skip
        GovukPayWebhookMessage.objects.filter(pk=message.pk).update(
            received_at=now - datetime.timedelta(minutes=10)
        )
        target = ExportTarget.objects.create(name="Revenues", fields=parse_fields("amount"))
        ExportRun.objects.create(target=target, status=ExportStatus.FAILED)
        heartbeat = WorkerHeartbeat.objects.create(
            token=SCHEDULED_HEARTBEAT_TOKEN, requested_at=now
        )
        WorkerHeartbeat.objects.filter(pk=heartbeat.pk).update(
            recorded_at=now - datetime.timedelta(minutes=20)
        )
    return council_a


def test_metrics_need_the_token_or_the_tasks_own_loopback_and_say_nothing_otherwise(
    settings, council_a
):
    assert scrape()[0] == 404
    assert scrape(HTTP_AUTHORIZATION="Bearer not-the-token")[0] == 404
    # Through the load balancer a request may claim to come from the loopback: not believed.
    forwarded = host_client(None).get(
        "/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="127.0.0.1"
    )
    assert forwarded.status_code == 404
    settings.METRICS_TOKEN = ""
    assert scrape(HTTP_AUTHORIZATION="Bearer ")[0] == 404  # no token set: none is accepted
    # The sidecar agent in the task asks by address, on the loopback, without a token.
    agent = host_client(None).get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_HOST="10.0.3.7:8000")
    assert agent.status_code == 200
    assert "counterfoil_task_queue_depth" in agent.content.decode()


def test_metrics_count_requests_by_council_and_status_and_read_the_councils_tables(
    troubled_council, council_a
):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}
    _, before = scrape(**auth)
    host_client(council_a).get("/healthz")
    host_client(council_a).get("/no-such-page/")

    status, text = scrape(**auth)

    assert status == 200
    schema = council_a.schema_name
    requests = "counterfoil_http_requests_total"

    def counted(body: str, code: str) -> float:
        found = re.search(
            rf'^{requests}{{council="{schema}",status="{code}"}} (\S+)$', body, re.MULTILINE
        )
        return float(found.group(1)) if found else 0.0

    assert counted(text, "200") == counted(before, "200") + 1
    assert counted(text, "404") == counted(before, "404") + 1
    assert value(text, "counterfoil_council_webhook_inbox_waiting", council=schema) == 1
    assert value(text, "counterfoil_council_exports_failed_last_day", council=schema) == 1
    assert value(text, "counterfoil_webhook_inbox_oldest_seconds") >= 600
    assert value(text, "counterfoil_mop_up_lag_seconds") >= 3 * 3600
    assert value(text, "counterfoil_worker_heartbeat_age_seconds") >= 20 * 60
    assert value(text, "counterfoil_task_queue_depth") >= 0
    # /metrics is not counted as a request of any council.
    assert "/metrics" not in text


def test_the_console_home_shows_the_platform_at_a_glance(troubled_council):
    operator = UserFactory(platform_role=PlatformRole.OPERATOR)

    page = sign_in(host_client(None), operator).get("/console/").content.decode()

    glance = page.split("The platform at a glance", 1)[1].split("</dl>", 1)[0]
    text = " ".join(re.sub(r"<[^>]+>", " ", glance).split())
    # Platform-wide figures (other councils may add to them): each past its alarm's limit.
    for label, figure in [
        ("GOV.UK Pay webhooks waiting", r"\d+, the oldest \d+ minutes"),
        ("Exports failed in the last day", r"\d+"),
        ("GOV.UK Pay mop-up furthest behind", r"\d+ hours(, \d+ minutes)?"),
        ("Stalest worker heartbeat", r"\d+ minutes"),
    ]:
        assert re.search(rf"{label} {figure} Needs attention", text), text
