"""Fixtures for event notifications: a real local receiving endpoint, and an admin."""

import pytest

from income.events.endpoints import add_endpoint
from income.models import EventType
from tenants.models import CouncilRole
from tests.conftest import make_member
from tests.standins.event_receiver import event_receiver


@pytest.fixture
def receiver():
    with event_receiver() as running:
        yield running


@pytest.fixture
def demo_endpoints(settings):
    """The receiver listens on 127.0.0.1 over http: allowed as in the demo."""
    settings.DEMO_INSECURE_ENDPOINTS = True
    settings.EVENT_DELIVERY_TIMEOUT_SECONDS = 0.5
    return settings


@pytest.fixture
def admin(council_a):
    return make_member(council_a, CouncilRole.ADMIN)


@pytest.fixture
def endpoint_for(ledger, admin, demo_endpoints, receiver):
    def make(path: str = "/ok", events: list[str] | None = None):
        return add_endpoint(
            council=ledger,
            url=f"{receiver.url}{path}",
            event_types=events or list(EventType.values),
            description="Revenues system",
            acting_user=admin,
        )

    return make
