"""tenant_request: a council-resolved empty view against the same view in a bare Django project.

Both run under the same gunicorn (2 sync workers) and the same load, measured alternately in
the same run. The gap is what tenancy and our middleware cost per request; the per-process host
→ council cache (tenants/council_directory.py) is what keeps it small.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants.actions.councils import council_host
from tenants.council_directory import council_directory
from tenants.models import Council
from tests.bench.http_load import LoadGenerator, LoadResult, gunicorn, http_request
from tests.bench.reporting import bench_line
from tests.conftest import host_client

TARGET = 0.9  # the target; never lowered to pass
CLIENTS = 4  # two per worker, so a worker never waits on a client to come back
WARM_UP_SECONDS = 1.0
# Many short alternating rounds: on a shared machine, load from elsewhere comes and goes in
# bursts, and short rounds spread each burst over both sides instead of one.
ROUNDS = 12
ROUND_SECONDS = 0.5  # per side and round: 6 s measured per side in all
PATH = "/health/live"


def _queries_per_request(council: Council) -> tuple[int, int]:
    """SQL statements one council request makes with the directory cold, then warm."""
    client = host_client(council)
    council_directory.forget()
    counts = []
    for _ in range(2):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(PATH).status_code == 200
        counts.append(len(captured.captured_queries))
    return counts[0], counts[1]


@pytest.mark.django_db
def test_tenant_request(
    council_a: Council, test_database_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    cold_queries, warm_queries = _queries_per_request(council_a)

    logs = tmp_path_factory.mktemp("tenant_request")
    council_request = http_request(council_host(council_a.slug), PATH)
    bare_request = http_request("localhost", PATH)
    bare_env = {**test_database_env, "DJANGO_SETTINGS_MODULE": "tests.bench.bare_project.settings"}
    council, bare = LoadResult(), LoadResult()
    with (
        gunicorn(
            "counterfoil.wsgi:application",
            env=test_database_env,
            log_path=logs / "council.log",
            probe=council_request,
        ) as council_port,
        gunicorn(
            "tests.bench.bare_project.wsgi:application",
            env=bare_env,
            log_path=logs / "bare.log",
            probe=bare_request,
        ) as bare_port,
        LoadGenerator(CLIENTS) as load,
    ):
        load.run(council_port, council_request, WARM_UP_SECONDS)
        load.run(bare_port, bare_request, WARM_UP_SECONDS)
        # Alternate, so drift in what else the machine is doing falls on both sides alike.
        for _ in range(ROUNDS):
            council.add(load.run(council_port, council_request, ROUND_SECONDS))
            bare.add(load.run(bare_port, bare_request, ROUND_SECONDS))

    print(
        f"\ntenant_request: p99={council.p99_ms:.1f}ms bare_p99={bare.p99_ms:.1f}ms, "
        f"{len(council.latencies)} vs {len(bare.latencies)} requests over "
        f"{council.seconds:g}s each from {CLIENTS} clients; SQL per council request: "
        f"{cold_queries} cold, {warm_queries} warm"
    )
    print(
        bench_line(
            "tenant_request",
            ("rps", council.requests_per_second, "req/s"),
            ("bare_rps", bare.requests_per_second, "req/s"),
            target=TARGET,
        )
    )
    assert not council.failures, f"council server answered {dict(council.failures)}"
    assert not bare.failures, f"bare server answered {dict(bare.failures)}"
