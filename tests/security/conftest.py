"""Fixtures for the sign-in security tests: a person who works for both test councils, and a
council's own verified host name (whose DNS the council, not the platform, controls)."""

import pytest
from django.test import Client

from tenants.actions.domains import add_domain, confirm_domain_by_operator
from tenants.council_directory import council_directory
from tenants.models import Council, CouncilRole, Membership, PlatformRole, User
from tests.conftest import make_member
from tests.factories import PASSWORD, UserFactory

LOGIN = "/accounts/login/"
SECOND_FACTOR = "/accounts/2fa/authenticate/"
NORTH_OWN_HOST = "payments.northbrook-test.gov.uk"


@pytest.fixture
def shared_person(council_a: Council, council_b: Council) -> User:
    """Someone who works for both councils (shared services)."""
    person = make_member(council_a, CouncilRole.INCOME_OFFICER)
    Membership.objects.create(user=person, council=council_b, role=CouncilRole.INCOME_OFFICER)
    return person


@pytest.fixture
def operator() -> User:
    return UserFactory(platform_role=PlatformRole.OPERATOR)


@pytest.fixture
def north_own_host(council_a: Council, operator: User) -> str:
    """Council A's own host name, verified (its DNS is the council's, not ours)."""
    admin = make_member(council_a, CouncilRole.ADMIN)
    domain = add_domain(council=council_a, hostname=NORTH_OWN_HOST, acting_user=admin)
    confirm_domain_by_operator(domain=domain, reason="Phoned the ICT lead", acting_user=operator)
    council_directory.forget()
    return NORTH_OWN_HOST


def give_password(client: Client, email: str, password: str = PASSWORD):
    return client.post(LOGIN, {"login": email, "password": password})


def give_code(client: Client, code: str):
    return client.post(SECOND_FACTOR, {"code": code})
