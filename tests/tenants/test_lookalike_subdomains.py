"""A subdomain that reads as another council's (digits for letters, rn for m) is refused, as
the README promises: it is how a phishing page would pass for a council's payment site."""

import pytest

from tenants.models import CouncilApplication
from tenants.subdomain_lookalikes import skeleton
from tests.conftest import host_client

pytestmark = pytest.mark.django_db

APPLICATION = {
    "council_name": "Northbrook Borough Council",
    "gss_code": "E07000123",
    "requested_slug": "northbrook",
    "contact_name": "Nora North",
    "contact_email": "nora@northbrook.example",
}


@pytest.fixture
def northbrook_applied():
    response = host_client(None).post("/apply/", APPLICATION)
    assert response.status_code == 302
    return CouncilApplication.objects.get()


def test_northbr00k_is_refused_as_a_lookalike_of_northbrook(northbrook_applied):
    response = host_client(None).post(
        "/apply/", {**APPLICATION, "gss_code": "E07000124", "requested_slug": "northbr00k"}
    )

    assert response.status_code == 200
    assert (
        "The subdomain “northbr00k” looks too like “northbrook”, which another council uses. "
        "Choose one that cannot be mistaken for it."
    ) in response.content.decode()
    assert list(CouncilApplication.objects.all()) == [northbrook_applied]


@pytest.mark.parametrize("slug", ["n0rthbrook", "northbr0ok", "north-brook", "n0rthbr00k"])
def test_digit_and_hyphen_lookalikes_of_an_application_are_refused(northbrook_applied, slug):
    response = host_client(None).post(
        "/apply/", {**APPLICATION, "gss_code": "E07000124", "requested_slug": slug}
    )
    assert "looks too like “northbrook”" in response.content.decode()
    assert CouncilApplication.objects.count() == 1


@pytest.mark.parametrize("slug", ["n0rth-test", "north-te5t", "northtest"])
def test_lookalikes_of_an_existing_councils_subdomain_are_refused(council_a, slug):
    response = host_client(None).post(
        "/apply/", {**APPLICATION, "gss_code": "E07000124", "requested_slug": slug}
    )
    assert "looks too like “north-test”" in response.content.decode()
    assert not CouncilApplication.objects.exists()


@pytest.mark.parametrize(
    ("one", "other"),
    [("lincoln", "1inco1n"), ("milton", "mi1ton"), ("thames", "tharnes"), ("swale", "5wale"),
     ("wiltshire", "wi1tshlre"), ("eastmere", "east-mere")],
)  # fmt: skip
def test_lookalikes_share_a_skeleton(one, other):
    assert skeleton(one) == skeleton(other)


@pytest.mark.parametrize(("one", "other"), [("northbrook", "southbrook"), ("bath", "barth")])
def test_different_names_do_not(one, other):
    assert skeleton(one) != skeleton(other)


def test_a_different_name_is_still_welcome(northbrook_applied):
    response = host_client(None).post(
        "/apply/", {**APPLICATION, "gss_code": "E07000124", "requested_slug": "southbrook"}
    )
    assert response.status_code == 302
