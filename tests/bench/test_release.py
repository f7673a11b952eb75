"""release: a release with nothing to migrate (`counterfoil release`: the public schema's
migrations, then every council behind the release) on a platform of 100 councils and of 400.

Targets (issue 18): at most 10 ms per council at 400, and growing no faster than linearly:
the ratio is the time at 400 over four times the time at 100 (at most 1).
"""

import io
import time

import pytest
from django.core.management import call_command

from tenants.schema_snapshot import current_snapshot
from tests.bench.test_provision import _existing_councils, _raw_connection

TARGET_MS_PER_COUNCIL = 10.0  # the issue's; never raised to pass
ROUNDS = 3


@pytest.fixture
def committed(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        yield


def _release_ms() -> float:
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        call_command("release", stdout=io.StringIO())
        times.append(time.perf_counter() - started)
    return sorted(times)[len(times) // 2] * 1000


def test_release(committed: None) -> None:
    current_snapshot()
    raw = _raw_connection()
    try:
        call_command("release", stdout=io.StringIO())  # warm: everything current
        _existing_councils(raw, 100)
        at_100 = _release_ms()
        _existing_councils(raw, 400)
        at_400 = _release_ms()
    finally:
        raw.close()
    per_council = at_400 / 400
    ratio = at_400 / (4 * at_100)
    verdict = "ok" if ratio <= 1 and per_council <= TARGET_MS_PER_COUNCIL else "short"
    print(
        f"\nBENCH release councils=400 total={at_400:.0f}ms per_council={per_council:.1f}ms "
        f"at_100={at_100:.0f}ms linear_reference={4 * at_100:.0f}ms ratio={ratio:.2f} "
        f"target=<=1 and <={TARGET_MS_PER_COUNCIL:g}ms_per_council {verdict}"
    )
