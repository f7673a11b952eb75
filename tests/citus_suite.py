"""The Citus part of the suite: what `pytest --citus` runs on a local Citus cluster (a
coordinator and two workers, counterfoil.citus_cluster), one module or folder per council
feature, plus tests/citus (what only a cluster has: distributed schemas, placement)."""

import pytest

from counterfoil.citus_cluster import ClusterAddress

CITUS_SUITE = (
    "tests/citus/",
    # onboarding
    "tests/tenants/test_onboarding.py",
    "tests/tenants/test_schema_snapshot.py",
    "tests/tenants/test_spare_schemas.py",
    "tests/tenants/test_citus_compatible_sql.py",
    # sign-in
    "tests/tenants/test_sign_in_policy.py",
    "tests/security/test_session_per_host.py",
    # receipting
    "tests/income/test_receipting_pages.py",
    "tests/income/test_ledger.py",
    "tests/income/test_receipt_concurrency.py",
    "tests/income/test_receipt_search.py",
    # imports
    "tests/income/test_import_pipeline.py",
    "tests/income/test_import_duplicates.py",
    "tests/income/test_interrupted_work.py",
    # exports (with the out-of-order commit test of the exactly-once window)
    "tests/income/test_exports.py",
    "tests/income/test_export_concurrency.py",
    # GOV.UK Pay
    "tests/income/govuk_pay/test_govuk_pay_webhooks.py",
    "tests/income/govuk_pay/test_govuk_pay_portal.py",
    # reconciliation
    "tests/income/test_reconciliation.py",
    # offboarding
    "tests/console/test_lifecycle.py",
    # isolation between councils
    "tests/tenants/test_isolation.py",
    "tests/income/api/test_council_isolation.py",
)


def in_citus_suite(nodeid: str) -> bool:
    return nodeid.startswith(CITUS_SUITE)


def skip_on_citus(reason: str) -> pytest.MarkDecorator:
    """For a test that cannot hold on the cluster for a reason of the test's own making (never
    of Counterfoil's): the reason says which."""
    return pytest.mark.skipif(ClusterAddress.from_env() is not None, reason=f"on Citus: {reason}")
