import pytest

from tests.conftest import host_client

pytestmark = pytest.mark.django_db


def test_liveness_and_readiness_answer_on_the_platform_and_council_hosts(council_a):
    for client in (host_client(None), host_client(council_a)):
        assert client.get("/health/live").json() == {"status": "ok"}
        assert client.get("/health/ready").json() == {"status": "ok", "database": "ok"}


def test_every_response_carries_a_request_id(council_a):
    response = host_client(council_a).get("/health/live", HTTP_X_REQUEST_ID="proxy-abc-12345")
    assert response["X-Request-ID"] == "proxy-abc-12345"
    generated = host_client(council_a).get("/health/live", HTTP_X_REQUEST_ID="bad id!")
    assert len(generated["X-Request-ID"]) == 32
