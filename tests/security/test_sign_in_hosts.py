"""A council's own host name is in the council's DNS: sign-in, resets and invitations there
are sent to the council's host on the platform, so no password is typed on a host whose DNS a
council controls. Its citizen pages stay on it."""

import pytest
from django.test import Client
from django.utils import timezone

from tenants.actions.invitations import invitation_url
from tenants.council_directory import council_directory
from tenants.models import Domain

pytestmark = pytest.mark.django_db

OWN_HOST = "payments.northbrook-hosts.gov.uk"


@pytest.fixture
def own_host(council_a):
    Domain.objects.create(
        domain=OWN_HOST, tenant=council_a, is_primary=True, verified_at=timezone.now(),
        verification_method="operator",
    )  # fmt: skip
    Domain.objects.filter(tenant=council_a).exclude(domain=OWN_HOST).update(is_primary=False)
    council_directory.forget()
    return Client(HTTP_HOST=OWN_HOST)


@pytest.mark.parametrize(
    "path", ["/accounts/login/?next=/receipts/", "/accounts/password/reset/", "/team/join/tok/"]
)
def test_account_pages_on_a_councils_own_host_go_to_its_platform_host(council_a, own_host, path):
    response = own_host.get(path)

    assert response.status_code == 302
    assert response["Location"] == f"http://{council_a.slug}.localhost{path}"


def test_citizen_pages_stay_on_the_councils_own_host(council_a, own_host):
    response = own_host.get("/pay/")
    assert response.status_code != 302 or "/accounts/" not in response["Location"]
    assert not response.get("Location", "").startswith(f"http://{council_a.slug}.localhost")


def test_an_invitation_links_to_the_platform_host_even_with_an_own_primary_host(
    council_a, own_host
):
    assert council_a.get_primary_domain().domain == OWN_HOST
    assert invitation_url(council_a, "tok") == f"http://{council_a.slug}.localhost/team/join/tok/"
