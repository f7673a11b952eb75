"""Security finding 7: the anonymous application form had no rate limit, and pending
applications reserved ONS codes and subdomains (eight in seconds from one address). Now one
address may send a few an hour, and only an operator's approval reserves anything."""

import pytest
from django.core.exceptions import ValidationError

from tenants.actions.applications import (
    approve_application,
    decline_application,
    submit_application,
)
from tenants.application_rate_limit import RATE_LIMITED_MESSAGE
from tenants.models import ApplicationStatus, CouncilApplication, PlatformRole, User
from tests.conftest import host_client
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

GOOD = {
    "council_name": "Westford City Council",
    "gss_code": "E07000999",
    "requested_slug": "westford",
    "contact_name": "Wendy West",
    "contact_email": "wendy.west@westford.example",
}


@pytest.fixture
def operator() -> User:
    return UserFactory(platform_role=PlatformRole.OPERATOR)


def apply(**changes: str) -> CouncilApplication:
    return submit_application(**{**GOOD, **changes}, acting_user=None)


def test_one_address_sends_three_applications_an_hour_and_no_more():
    client = host_client(None)
    for number in range(3):
        response = client.post(
            "/apply/", {**GOOD, "gss_code": f"E0700099{number}", "requested_slug": f"w{number}x"}
        )
        assert response.status_code == 302, response.content.decode()

    response = client.post("/apply/", {**GOOD, "gss_code": "E07000995", "requested_slug": "w5x"})

    assert response.status_code == 429
    assert RATE_LIMITED_MESSAGE in response.content.decode()
    assert CouncilApplication.objects.count() == 3
    # Another address is not held back by the first one's.
    other = host_client(None)
    other.defaults["REMOTE_ADDR"] = "192.0.2.7"
    response = other.post("/apply/", {**GOOD, "gss_code": "E07000996", "requested_slug": "w6x"})
    assert response.status_code == 302
    assert CouncilApplication.objects.count() == 4


def test_a_pending_application_reserves_neither_code_nor_subdomain(operator):
    squatter = apply(council_name="Not Westford", contact_email="x@example.com")
    genuine = apply()
    assert (squatter.status, genuine.status) == ("pending", "pending")

    approve_application(application=genuine, acting_user=operator)

    # Once approved, the code and subdomain are taken: the other is refused at approval and
    # new applications are refused outright.
    with pytest.raises(ValidationError, match="“westford” has been taken by Westford City"):
        approve_application(application=squatter, acting_user=operator)
    squatter.refresh_from_db()
    assert (squatter.status, squatter.council_id) == (ApplicationStatus.PENDING, None)
    with pytest.raises(ValidationError, match="E07000999 is already on Counterfoil"):
        apply(requested_slug="westford-two")
    with pytest.raises(ValidationError, match="“westford” is already taken"):
        apply(gss_code="E07000998")
    decline_application(application=squatter, reason="Not the council", acting_user=operator)
