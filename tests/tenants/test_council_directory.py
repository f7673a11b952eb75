"""Host → council is cached per process and forgotten when a council or domain changes."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tenants.council_directory import council_directory
from tenants.models import CouncilStatus, Domain, TenancyGeneration
from tests.conftest import host_client

pytestmark = pytest.mark.django_db


def _queries_for(client, path="/health/live"):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    return response, [query["sql"] for query in captured.captured_queries]


def test_a_council_host_is_resolved_from_the_database_once_then_from_memory(council_a):
    client = host_client(council_a)
    _, first = _queries_for(client)
    response, second = _queries_for(client)

    assert response.status_code == 200
    assert any("tenants_domain" in sql for sql in first)
    assert not any("tenants_domain" in sql for sql in second)


def test_changing_a_domain_or_council_bumps_the_tenancy_generation(council_a):
    before = TenancyGeneration.objects.get(id=1).value
    Domain.objects.create(domain="payments.northbrook-test.gov.uk", tenant=council_a)
    after_domain = TenancyGeneration.objects.get(id=1).value
    council_a.name = council_a.name  # any update counts
    council_a.save()
    after_council = TenancyGeneration.objects.get(id=1).value

    assert before < after_domain < after_council


def test_a_new_host_name_is_seen_after_the_generation_moves(council_a, settings):
    settings.TENANT_CACHE_CHECK_SECONDS = 0
    client = host_client(None)
    client.defaults["HTTP_HOST"] = "pay.northbrook-test.gov.uk"
    assert client.get("/health/live").status_code == 404  # remembered as unknown

    domain = Domain.objects.create(domain="pay.northbrook-test.gov.uk", tenant=council_a)
    # Not yet proved to be the council's: it does not answer.
    assert client.get("/health/live").status_code == 404

    domain.verified_at = timezone.now()
    domain.save(update_fields=["verified_at"])
    assert client.get("/health/live").status_code == 200


def test_a_suspended_council_stays_served_but_a_closed_one_answers_404(council_a, settings):
    settings.TENANT_CACHE_CHECK_SECONDS = 0
    client = host_client(council_a)
    assert client.get("/health/live").status_code == 200

    council_a.status = CouncilStatus.CLOSED
    council_a.save(update_fields=["status"])
    assert client.get("/health/live").status_code == 404

    council_a.status = CouncilStatus.ACTIVE
    council_a.save(update_fields=["status"])
    assert client.get("/health/live").status_code == 200


def test_the_cache_of_unknown_hosts_is_bounded(monkeypatch):
    from tenants import council_directory as module

    monkeypatch.setattr(module, "MAX_CACHED_HOSTS", 5)
    for number in range(12):
        council_directory.council_for_host(f"scanner{number}.example")
    assert len(council_directory._by_host) <= 5
