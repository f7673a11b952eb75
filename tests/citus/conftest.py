"""Tests that only mean something on a Citus cluster (`pytest --citus`); skipped elsewhere."""

import pytest

from counterfoil.citus_cluster import ClusterAddress


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if ClusterAddress.from_env() is None:
        skip = pytest.mark.skip(reason="needs the local Citus cluster (pytest --citus)")
        for item in items:
            if item.nodeid.startswith("tests/citus/"):
                item.add_marker(skip)
