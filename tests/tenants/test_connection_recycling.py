"""A database connection that has served COUNTERFOIL_CONNECTION_COUNCILS_LIMIT councils is
closed at the end of that request (and reopened by the next), never before."""

import pytest
from django.db import connection
from django.test import override_settings

from tenants.connection_recycling import councils_served
from tests.conftest import host_client, make_member


def _backend_pid() -> int | None:
    return connection.connection.info.backend_pid if connection.connection else None


@pytest.fixture
def members(council_a, council_b, django_db_blocker):
    """Signed-in clients on both councils, outside any test transaction: the connection is
    closed for real, as in production (the rows they commit stay for the session)."""
    with django_db_blocker.unblock():
        clients = []
        for council in (council_a, council_b):
            client = host_client(council)
            client.force_login(make_member(council))
            clients.append(client)
        connection.close()  # start counting from a fresh connection (making councils counts)
        yield clients
        connection.close()


@override_settings(CONNECTION_COUNCILS_LIMIT=2)
def test_a_connection_serving_fewer_councils_than_the_limit_stays_open(members):
    in_a, _ = members
    assert in_a.get("/receipts/").status_code == 200
    pid = _backend_pid()
    assert pid is not None
    for _ in range(3):
        assert in_a.get("/receipts/").status_code == 200
    assert _backend_pid() == pid
    assert councils_served(connection) == 1


@override_settings(CONNECTION_COUNCILS_LIMIT=2)
def test_a_connection_is_closed_after_the_request_that_reaches_the_limit(members):
    in_a, in_b = members
    assert in_a.get("/receipts/").status_code == 200
    first_pid = _backend_pid()
    assert first_pid is not None and councils_served(connection) == 1

    assert in_b.get("/receipts/").status_code == 200
    assert connection.connection is None, "the second council's request should close it"

    assert in_a.get("/receipts/").status_code == 200
    assert _backend_pid() not in (None, first_pid)
    assert councils_served(connection) == 1  # the new connection counts afresh


@override_settings(CONNECTION_COUNCILS_LIMIT=0)
def test_a_limit_of_zero_never_recycles(members):
    in_a, in_b = members
    in_a.get("/receipts/")
    pid = _backend_pid()
    in_b.get("/receipts/")
    assert _backend_pid() == pid
    assert councils_served(connection) == 2
