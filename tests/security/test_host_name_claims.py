"""Security finding 6: unverified host names were first come, first served, so one council's
admin could reserve another's name (payments.eastmere.gov.uk). An unverified claim reserves
nothing; only a verified name is unique."""

import pytest
from django.core.exceptions import ValidationError

from tenants.actions.domains import add_domain, confirm_domain_by_operator
from tenants.models import CouncilRole, Domain, PlatformRole
from tests.conftest import make_member
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HOST = "payments.eastmere-claims.gov.uk"


@pytest.fixture
def operator():
    return UserFactory(platform_role=PlatformRole.OPERATOR)


def test_an_unverified_claim_does_not_stop_the_real_owner(council_a, council_b, operator):
    squatter = add_domain(
        council=council_a, hostname=HOST, acting_user=make_member(council_a, CouncilRole.ADMIN)
    )
    owner_admin = make_member(council_b, CouncilRole.ADMIN)
    owners = add_domain(council=council_b, hostname=HOST, acting_user=owner_admin)

    confirm_domain_by_operator(domain=owners, reason="Rang the council", acting_user=operator)

    owners.refresh_from_db()
    assert owners.verified_at is not None
    # The squatter's claim can never be verified now, and a new claim is refused outright.
    with pytest.raises(ValidationError, match="already verified for another council"):
        confirm_domain_by_operator(domain=squatter, reason="Asked", acting_user=operator)
    squatter.refresh_from_db()
    assert squatter.verified_at is None
    with pytest.raises(ValidationError, match=f"{HOST} is already in use on Counterfoil"):
        add_domain(
            council=council_a, hostname=HOST, acting_user=make_member(council_a, CouncilRole.ADMIN)
        )
    assert list(Domain.objects.filter(domain=HOST, verified_at__isnull=False)) == [owners]


def test_a_council_claims_a_name_once(council_a):
    admin = make_member(council_a, CouncilRole.ADMIN)
    add_domain(council=council_a, hostname=HOST, acting_user=admin)
    with pytest.raises(ValidationError, match="already one of this council's host names"):
        add_domain(council=council_a, hostname=HOST.upper(), acting_user=admin)
    assert Domain.objects.filter(domain=HOST).count() == 1
