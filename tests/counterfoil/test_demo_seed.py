"""The demo's seed: every role at both councils, all with MFA, and idempotent."""

import pyotp
import pytest
from allauth.mfa.models import Authenticator
from django_tenants.utils import schema_context

from counterfoil.demo_seed import (
    DEMO_PAYMENTS,
    current_demo_code,
    demo_totp_secret,
    seed_demo,
)
from income.models import Fund, Receipt, Refund
from tenants.models import Council, CouncilRole, Membership, User

pytestmark = pytest.mark.django_db


def test_seeding_twice_creates_everything_once_with_mfa_for_every_login():
    first = seed_demo()
    counts = (User.objects.count(), Membership.objects.count(), Council.objects.count())
    second = seed_demo()

    assert first == second
    assert (User.objects.count(), Membership.objects.count(), Council.objects.count()) == counts
    for login in first:
        kinds = set(
            Authenticator.objects.filter(user__email=login.email).values_list("type", flat=True)
        )
        assert kinds == {Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES}, login.email


def test_each_demo_council_has_every_role_and_its_funds():
    seed_demo()
    for slug in ("northbrook", "eastmere"):
        council = Council.objects.get(slug=slug)
        roles = set(Membership.objects.filter(council=council).values_list("role", flat=True))
        assert roles == set(CouncilRole.values)
        with schema_context(council.schema_name):
            assert Fund.objects.filter(code="CTAX").exists()
            assert Receipt.objects.count() == DEMO_PAYMENTS
            assert Refund.objects.filter(status="requested").count() == 1
    seed_demo()  # again: no payment or refund is doubled
    with schema_context(Council.objects.get(slug="northbrook").schema_name):
        assert Receipt.objects.count() == DEMO_PAYMENTS
        assert Refund.objects.count() == 1
    shared = User.objects.get(email="shared@services.example")
    assert shared.memberships.count() == 2


def test_the_printed_code_is_the_one_the_login_accepts_and_only_for_demo_logins():
    seed_demo()
    code = current_demo_code("admin@northbrook.example")
    # Checked by pyotp, an implementation independent of the one that printed it.
    assert pyotp.TOTP(demo_totp_secret("admin@northbrook.example")).verify(code, valid_window=1)
    with pytest.raises(ValueError, match="only shown for the demo"):
        current_demo_code("someone@council.gov.uk")


def test_eastmere_signs_in_through_the_demos_identity_provider_once_seeded(settings):
    from tenants.audit.models import AuditEvent
    from tenants.models import CouncilIdentityProvider
    from tests.conftest import host_client

    settings.SSO_INSECURE_ISSUERS = True  # the demo's stand-in is on 127.0.0.1 over http
    seed_demo(identity_provider_url="http://127.0.0.1:8222")
    seed_demo(identity_provider_url="http://127.0.0.1:8222")  # again: nothing changes

    eastmere = Council.objects.get(slug="eastmere")
    [provider] = CouncilIdentityProvider.objects.all()
    assert (provider.council, provider.issuer_url) == (eastmere, "http://127.0.0.1:8222")
    with schema_context(eastmere.schema_name):
        assert AuditEvent.objects.filter(action="identity_provider.configured").count() == 1
    page = host_client(eastmere).get("/accounts/login/").content.decode()
    assert "Sign in with Eastmere staff account" in page
    northbrook = Council.objects.get(slug="northbrook")
    assert "Sign in with" not in host_client(northbrook).get("/accounts/login/").content.decode()
