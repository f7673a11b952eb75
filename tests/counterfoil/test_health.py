import pytest

from tests.conftest import host_client

pytestmark = pytest.mark.django_db


READY = {"status": "ok", "database": "ok", "broker": "ok", "migrations": "ok"}


@pytest.fixture(autouse=True)
def _nothing_remembered(settings):
    settings.READINESS_CACHE_SECONDS = 0


def test_liveness_and_readiness_answer_on_the_platform_and_council_hosts(council_a):
    for client in (host_client(None), host_client(council_a)):
        for live in ("/health/live", "/healthz"):
            assert client.get(live).json() == {"status": "ok"}
        for ready in ("/health/ready", "/readyz"):
            response = client.get(ready)
            assert (response.status_code, response.json()) == (200, READY)


def test_readiness_fails_while_the_broker_cannot_be_reached(council_a, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = host_client(council_a).get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["broker"] == "OperationalError"
    assert response.json()["database"] == "ok"


def test_every_response_carries_a_request_id(council_a):
    response = host_client(council_a).get("/health/live", HTTP_X_REQUEST_ID="proxy-abc-12345")
    assert response["X-Request-ID"] == "proxy-abc-12345"
    generated = host_client(council_a).get("/health/live", HTTP_X_REQUEST_ID="bad id!")
    assert len(generated["X-Request-ID"]) == 32
