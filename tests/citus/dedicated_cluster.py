"""A Citus cluster of a test module's own (a coordinator and two workers), for fault tests that
stop a node: the shared cluster's nodes serve the other test process too. While the module runs,
Django's connection points at this cluster's coordinator, where the session's test database is
made and migrated afresh; afterwards it points back at the shared cluster."""

from collections.abc import Iterator

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from counterfoil.citus_cluster import CitusCluster
from tenants.council_directory import council_directory
from tests.conftest import set_up_test_database


def _point_at(host: str, port: int | str) -> None:
    connection.close()
    connection.settings_dict.update(HOST=host, PORT=port)
    # Both remember rows by id, and ids differ between the two databases.
    ContentType.objects.clear_cache()
    council_directory.forget()


@pytest.fixture(scope="module")
def dedicated_cluster(django_db_setup, django_db_blocker) -> Iterator[CitusCluster]:
    cluster = CitusCluster.start(worker_count=2)
    shared = (connection.settings_dict["HOST"], connection.settings_dict["PORT"])
    try:
        with django_db_blocker.unblock():
            _point_at("127.0.0.1", cluster.coordinator.port)
            set_up_test_database(cluster.address)
            yield cluster
    finally:
        with django_db_blocker.unblock():
            _point_at(*shared)
        cluster.stop()
