"""A council's own host names: added by admins, proved by a DNS TXT record (looked up over the
wire from a local stand-in) or confirmed by an operator, one chosen primary; nothing answers
before it is verified."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django_tenants.utils import schema_context

from tenants.actions.domains import (
    add_domain,
    confirm_domain_by_operator,
    make_primary,
    remove_domain,
    verify_domain_by_dns,
)
from tenants.actions.invitations import invitation_url
from tenants.audit.models import AuditEvent
from tenants.models import CouncilRole, Domain, PlatformRole
from tests.conftest import host_client, make_member, sign_in
from tests.factories import UserFactory
from tests.standins.dns_server import dns_stand_in

pytestmark = pytest.mark.django_db

HOST = "payments.northbrook-test.gov.uk"


@pytest.fixture
def dns(settings):
    with dns_stand_in() as server:
        settings.DNS_RESOLVERS = ["127.0.0.1"]
        settings.DNS_RESOLVER_PORT = server.port
        settings.DNS_TIMEOUT_SECONDS = 2
        yield server


@pytest.fixture
def admin(council_a):
    return make_member(council_a, CouncilRole.ADMIN)


def test_an_admin_adds_a_host_name_publishes_the_txt_record_and_it_answers(council_a, admin, dns):
    client = sign_in(host_client(council_a), admin)
    response = client.post("/team/domains/add/", {"hostname": " Payments.Northbrook-Test.gov.uk. "})
    assert response.status_code == 302
    domain = Domain.objects.get(domain=HOST)
    assert domain.verified_at is None and not domain.is_primary
    page = client.get("/team/domains/").content.decode()
    assert f"_counterfoil.{HOST}" in page
    assert f"counterfoil-verification={domain.verification_token}" in page
    assert Client(HTTP_HOST=HOST).get("/health/live").status_code == 404  # not yet

    # Not published yet: refused with what to publish.
    refused = client.post(f"/team/domains/{domain.pk}/verify/")
    assert "We could not find a TXT record at _counterfoil." in refused.content.decode()
    dns.txt[f"_counterfoil.{HOST}"] = ["counterfoil-verification=wrong"]
    with pytest.raises(ValidationError):
        verify_domain_by_dns(domain=domain, acting_user=admin)

    dns.txt[f"_counterfoil.{HOST}"] = [
        "v=spf1 -all",
        f"counterfoil-verification={domain.verification_token}",
    ]
    assert client.post(f"/team/domains/{domain.pk}/verify/").status_code == 302

    domain.refresh_from_db()
    assert domain.verification_method == "dns"
    assert f"_counterfoil.{HOST}" in dns.queries
    assert Client(HTTP_HOST=HOST).get("/health/live").status_code == 200
    with schema_context(council_a.schema_name):
        assert {"domain.added", "domain.verified"} <= set(
            AuditEvent.objects.filter(target_id=str(domain.pk)).values_list("action", flat=True)
        )


def test_a_verified_host_name_becomes_primary_and_links_use_it(council_a, admin):
    domain = add_domain(council=council_a, hostname=HOST, acting_user=admin)
    with pytest.raises(ValidationError, match="Verify the host name"):
        make_primary(domain=domain, acting_user=admin)
    operator = UserFactory(platform_role=PlatformRole.OPERATOR)
    confirm_domain_by_operator(
        domain=domain, reason="Phoned the council's ICT lead", acting_user=operator
    )

    client = sign_in(host_client(council_a), admin)
    assert client.post(f"/team/domains/{domain.pk}/primary/").status_code == 302

    council_a.refresh_from_db()
    assert council_a.get_primary_domain().domain == HOST
    assert Domain.objects.filter(tenant=council_a, is_primary=True).count() == 1
    # Invitations still go to the platform's host for the council: its own name's DNS is
    # the council's, and whoever is invited types a password there.
    assert invitation_url(council_a, "t").startswith(f"http://{council_a.slug}.localhost")
    platform_host = Domain.objects.get(tenant=council_a, verification_method="platform")
    with pytest.raises(ValidationError, match="cannot be removed"):
        remove_domain(domain=platform_host, acting_user=admin)
    with pytest.raises(ValidationError, match="Make another host name primary"):
        remove_domain(domain=domain, acting_user=admin)
    with schema_context("public"):
        assert AuditEvent.objects.filter(action="domain.confirmed_by_operator").exists()


def test_an_operator_confirms_a_host_name_from_the_console(council_a, admin):
    domain = add_domain(council=council_a, hostname=HOST, acting_user=admin)
    operator = UserFactory(platform_role=PlatformRole.OPERATOR)
    client = sign_in(host_client(None), operator)
    assert f"Confirm {HOST}" in client.get(f"/console/councils/{council_a.pk}/").content.decode()

    response = client.post(
        f"/console/councils/{council_a.pk}/domains/{domain.pk}/confirm/",
        {f"domain-{domain.pk}-reason": "Checked by phone"},
    )

    assert response.status_code == 302
    domain.refresh_from_db()
    assert domain.verification_method == "operator"


@pytest.mark.parametrize(
    ("hostname", "message"),
    [
        ("payments.n\u043erthbrook.gov.uk", "Enter the host name in plain letters"),  # Cyrillic o
        ("pay'ments.gov.uk", "Enter a full host name"),
        ("pay;ments.gov.uk", "Enter a full host name"),
        ("localhost-evil", "Enter a full host name"),
        ("-bad.gov.uk", "Enter a full host name"),
        ("eastmere.localhost", "are the platform"),
        ("localhost", "Enter a full host name"),
        ("127.0.0.1", "not an IP address"),
    ],
)
def test_bad_host_names_are_refused_with_a_message(council_a, admin, hostname, message):
    client = sign_in(host_client(council_a), admin)
    response = client.post("/team/domains/add/", {"hostname": hostname})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Domain.objects.filter(tenant=council_a, verification_method="").exists()


def test_only_admins_manage_host_names_and_only_their_own_councils(council_a, council_b, admin):
    auditor = make_member(council_a, CouncilRole.AUDITOR)
    domain_of_b = add_domain(
        council=council_b, hostname=HOST, acting_user=make_member(council_b, CouncilRole.ADMIN)
    )
    client = sign_in(host_client(council_a), auditor)
    assert client.get("/team/domains/").status_code == 200
    assert client.post("/team/domains/add/", {"hostname": "pay.a.gov.uk"}).status_code == 403
    with pytest.raises(PermissionDenied):
        add_domain(council=council_a, hostname="pay.a.gov.uk", acting_user=auditor)
    # An admin of A addressing B's host name by id finds nothing.
    client = sign_in(host_client(council_a), admin)
    for action in ("verify", "primary", "remove"):
        assert client.post(f"/team/domains/{domain_of_b.pk}/{action}/").status_code == 404
    with pytest.raises(PermissionDenied):
        make_primary(domain=domain_of_b, acting_user=admin)
