"""Benchmarks: run only by `make bench` (pyproject's norecursedirs keeps them out of `pytest`)."""

import os

import pytest
from psycopg.conninfo import make_conninfo


@pytest.fixture(scope="session")
def test_database_env(django_db_setup: None) -> dict[str, str]:
    """The environment for a server process that should see this session's test database."""
    from django.conf import settings

    test_database = settings.DATABASES["default"]["NAME"]
    return {
        **os.environ,
        "DATABASE_URL": make_conninfo(os.environ["DATABASE_URL"], dbname=test_database),
        "DJANGO_SETTINGS_MODULE": "counterfoil.settings",
    }
