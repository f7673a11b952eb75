"""Shared fixtures: two councils built once per session, clients on each council's host."""

import inspect
import os
import time

import psycopg
import pytest
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from counterfoil.citus_cluster import ClusterAddress, prepare_database
from tenants.actions.councils import council_host, create_council
from tenants.council_directory import council_directory
from tenants.models import Council, CouncilRole, Membership, User
from tests.citus_suite import in_citus_suite

pytest_plugins = ["tests.fixtures.worker", "tests.fixtures.object_storage"]

# Fixtures that commit outside the test's transaction, so their rows outlive the test.
COMMITTING_FIXTURES = {"live_server_port", "celery_worker_process"}


def _commits(item: pytest.Item) -> bool:
    names = set(getattr(item, "fixturenames", ()))
    function = getattr(item, "function", None)
    direct = inspect.signature(function).parameters if function else {}
    return bool(
        item.get_closest_marker("browser")
        or item.get_closest_marker("worker")
        or names & COMMITTING_FIXTURES
        or any(name.startswith("committed") for name in names)
        or "django_db_blocker" in direct
    )


def _keep_citus_suite(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With --citus, keep only the Citus part of the suite (tests/citus_suite.py), and skip it
    whole, saying why, when Citus is not installed here."""
    from counterfoil.testing import plugin

    kept = [item for item in items if in_citus_suite(item.nodeid)]
    config.hook.pytest_deselected(items=[item for item in items if item not in kept])
    items[:] = kept
    if plugin.citus_skip_reason:
        skip = pytest.mark.skip(reason=f"Citus tests skipped: {plugin.citus_skip_reason}")
        for item in items:
            item.add_marker(skip)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the tests that commit after all the others (each group in pytest-randomly's order):
    the rows they commit stay for the session (applications, heartbeats, the audit log, which
    is append-only), and a test that runs in its own transaction may count on a clean slate."""
    if config.getoption("--citus"):
        _keep_citus_suite(config, items)
    # The browser tests last of all, together: their server is started once for the package.
    items.sort(key=lambda item: (_commits(item), item.nodeid.startswith("tests/e2e/")))


@pytest.fixture(scope="session")
def django_db_setup(
    request, django_test_environment, django_db_blocker, django_db_modify_db_settings
):
    """The session's test database, always. pytest-django's own fixture creates it only when
    some collected test is marked for the database, so a run of only the worker tests (which
    commit outside any test transaction) would otherwise reach the development database."""
    from django.test.utils import teardown_databases

    verbosity = request.config.option.verbose
    cluster = ClusterAddress.from_env()
    with django_db_blocker.unblock():
        created = set_up_test_database(cluster, verbosity=verbosity)
    yield
    with django_db_blocker.unblock():
        teardown_databases(created, verbosity=verbosity, keepdb=cluster is not None)


def set_up_test_database(cluster: ClusterAddress | None, *, verbosity: int = 0) -> list:
    """Create and migrate the test database on the server the default connection points at;
    what Django's teardown_databases needs. On a Citus cluster (`cluster`, its address) the
    database is made on every node, with the extension and the workers registered, before
    Django migrates it (keepdb: Django must not recreate it)."""
    from django.conf import settings
    from django.test.utils import setup_databases

    if cluster is not None:
        test_database = settings.DATABASES["default"]["TEST"]["NAME"]
        prepare_database(cluster, test_database)
        _number_moves_apart(cluster, test_database)
    created = setup_databases(
        verbosity=verbosity, interactive=False, keepdb=cluster is not None, aliases={"default"}
    )
    if cluster is not None:
        # The council schema's snapshot built now, outside any test's transaction: built
        # inside one, its template's seeded rows leave deferred checks pending on the
        # worker, and Citus then refuses to drop the template (production builds it
        # outside any transaction, before approving a council).
        from tenants.schema_snapshot import current_snapshot

        current_snapshot()
    return created


def _number_moves_apart(cluster: ClusterAddress, database: str) -> None:
    """Each test process has its own database on the one cluster, and Citus names a move's
    replication slot (which the whole node shares, every database) by node, owner and the
    database's own operation counter: two processes' first moves took the same slot name, and
    the second failed ("replication slot ... already exists"). Each database counts from its
    own range."""
    with psycopg.connect(cluster.url(database), autocommit=True) as coordinator:
        coordinator.execute(
            "SELECT setval('pg_catalog.pg_dist_operationid_seq', %s)", [os.getpid() * 1000]
        )


@pytest.fixture(scope="session")
def council_a(django_db_setup: None, django_db_blocker: pytest.FixtureRequest) -> Council:
    with django_db_blocker.unblock():
        return create_council(name="Northbrook Test Council", slug="north-test", acting_user=None)


@pytest.fixture(scope="session")
def council_b(django_db_setup: None, django_db_blocker: pytest.FixtureRequest) -> Council:
    with django_db_blocker.unblock():
        return create_council(name="Southmere Test Council", slug="south-test", acting_user=None)


@pytest.fixture(autouse=True)
def _fresh_council_directory() -> None:
    # Test transactions roll back council and domain rows, so forget what was cached; and a
    # request leaves the connection on its council's schema, so start each test on public.
    council_directory.forget()
    connection.set_schema_to_public()


@pytest.fixture
def in_council_a(council_a: Council):
    with schema_context(council_a.schema_name):
        yield council_a


def host_client(council: Council | None) -> Client:
    """A test client whose requests carry the council's host (or the platform's)."""
    from django.conf import settings

    host = council_host(council.slug) if council else settings.PLATFORM_DOMAIN
    return Client(HTTP_HOST=host)


def make_member(council: Council, role: str = CouncilRole.INCOME_OFFICER, **fields) -> User:
    from tests.factories import UserFactory

    user = UserFactory(**fields)
    Membership.objects.create(user=user, council=council, role=role)
    return user


def sign_in(client: Client, user: User, *, recently_reauthenticated: bool = True) -> Client:
    """Sign `user` in on `client` (their password; factory-made staff have a second factor).

    With `recently_reauthenticated` the session also records that they gave their password again
    just now, as allauth's reauthentication page would, so sensitive actions go straight through.
    """
    from tests.factories import PASSWORD

    assert client.login(email=user.email, password=PASSWORD)
    if recently_reauthenticated:
        session = client.session
        session["account_authentication_methods"] = [
            {"method": "password", "at": time.time(), "reauthenticated": True}
        ]
        session["account_authentication_methods_user"] = str(user.pk)
        session.save()
    return client
